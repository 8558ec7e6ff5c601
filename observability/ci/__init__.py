"""``observability ci``: telemetry of the CI that tests the research code: flake telemetry and its
digest, the coverage and formatter trend, the CI health page.

Kept a docstring only: the pytest plugin (observability.ci.pytest_flakes) is imported by every pytest
session of a project that installs this package, so importing this package must cost nothing.
"""
