"""How an ``observability`` process starts: the console script, ``python -m observability`` and the
launcher the actions write (``python -c observability.ENTRY``) all call :func:`main`.

The cyclic garbage collector is paused while the CLI and job modules load: imports make many
objects and no cyclic garbage, and the collections they would trigger cost a few ms of every start-up
(a 15-minute cycle is mostly start-up). ``runtime.run_job`` freezes what was loaded and turns the
collector back on before the job's work; a command that runs no job (``--help``) ends with it paused.
"""

import gc
import time


def main() -> None:
    started = time.monotonic()  # the orchestrator's start a raw sample's ingest_latency_ms counts from
    gc.disable()
    from observability import clock

    clock.PROCESS_STARTED = started
    from observability.cli import main as cli_main

    cli_main()
