"""observability: GitHub Actions-native automation that keeps a trading research stack observable."""

__version__ = "0.1.0"

# How a job process is started: ``python -c ENTRY ARGS...``, not ``python -m observability``, whose
# runpy start-up costs a few ms of every job (a 15-minute cycle is mostly start-up). The launcher
# that actions/_lib/install.sh writes and the chain's steps both use it (see observability/entry.py).
ENTRY = "from observability.entry import main; main()"
