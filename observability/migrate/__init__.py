"""``observability migrate``: import a legacy script-based ``ops/`` tree into a workspace."""
