"""observability: GitHub Actions-native automation that keeps a trading research stack observable."""

__version__ = "0.1.0"

# How a job process is started: ``python -c ENTRY ARGS...``, not ``python -m observability``, whose
# runpy start-up costs a few ms of every job (a 15-minute cycle is mostly start-up). The launcher
# that actions/_lib/install.sh writes and the chain's steps both use it. The cyclic garbage collector
# is paused while the modules load (imports make many objects and no cyclic garbage: a few ms of
# every start-up); runtime.run_job turns it back on before the job's work.
ENTRY = "import gc; gc.disable(); from observability.cli import main; main()"
