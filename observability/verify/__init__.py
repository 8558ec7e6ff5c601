"""Verification: trace one run to its artefacts, and check the log, heartbeats and schedules nightly.

GitHub delays and drops scheduled runs without telling anyone; the nightly check is how anyone
finds out. Findings become alert items the alert inbox can open issues for.
"""
