"""observability: GitHub Actions-native automation that keeps a trading research stack observable."""

__version__ = "0.1.0"

# How a job process is started: ``python -c ENTRY ARGS...``, not ``python -m observability``, whose
# runpy start-up costs a few ms of every job (a 15-minute cycle is mostly start-up). The launcher
# that actions/_lib/install.sh writes and the chain's steps both use it (see observability/entry.py).
ENTRY = "from observability.entry import main; main()"


def child(argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(command, environment) of an ``observability`` child process (the chain's steps, the demo's jobs).

    ``python -c`` and ``python -m`` put the current directory first on sys.path, so a click.py (or
    observability.py) in the operator's directory would be imported: the child runs with ``-P`` and
    this process's package first on PYTHONPATH instead.
    """
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)}
    return [sys.executable, "-P", "-c", ENTRY, *argv], env
