"""Allow ``python -m observability`` (the collector paused while modules load, as observability.ENTRY does)."""

import gc

gc.disable()

from observability.cli import main  # noqa: E402

main()
