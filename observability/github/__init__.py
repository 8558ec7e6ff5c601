"""GitHub REST API access (the runner I/O lives in observability.runner)."""
