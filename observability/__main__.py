"""Allow ``python -m observability`` (observability/entry.py: how every process starts)."""

from observability.entry import main

main()
