"""How an ``observability`` process starts: the console script, ``python -m observability`` and the
launcher the actions write (``python -c observability.ENTRY``) all call :func:`main`.

The cyclic garbage collector is paused while the CLI and job modules load: imports make many
objects and no cyclic garbage, and the collections they would trigger cost a few ms of every start-up
(a 15-minute cycle is mostly start-up). ``runtime.run_job`` freezes what was loaded and turns the
collector back on before the job's work; a command that runs no job (``--help``) ends with it paused.
"""

import gc


def main() -> None:
    gc.disable()
    from observability.cli import main as cli_main

    cli_main()


def child(argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(command, environment) of an ``observability`` child process (the chain's steps, the demo's jobs).

    ``python -c`` and ``python -m`` put the current directory first on sys.path, so a click.py (or
    observability.py) in the operator's directory would be imported: the child runs with ``-P`` and
    this process's package first on PYTHONPATH instead.
    """
    import os
    import sys

    import observability

    root = os.path.dirname(os.path.dirname(os.path.abspath(observability.__file__)))
    env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)}
    return [sys.executable, "-P", "-c", observability.ENTRY, *argv], env
