"""Allow ``python -m observability``."""

from observability.cli import main

main()
