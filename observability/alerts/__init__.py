"""The alert inbox: alert sources, reconciliation with GitHub issues, failure issues and mirrors."""
