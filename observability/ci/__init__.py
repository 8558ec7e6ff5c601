"""CI telemetry (``observability ci``): flake digest, coverage and formatter trend, the CI health page."""
