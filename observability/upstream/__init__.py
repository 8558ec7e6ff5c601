"""Readers of upstream files shared by every job, and the one rule for bad values (``values``)."""
