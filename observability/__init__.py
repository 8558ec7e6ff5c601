"""observability: GitHub Actions-native automation that keeps a trading research stack observable."""

__version__ = "0.1.0"
