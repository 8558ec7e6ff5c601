"""Files one job writes and other jobs read, as shared formats: no job imports another to read them.

``rollups``: the latency job's hourly rollups (read by weekly and dashboard); ``weekly``: the weekly
payload's schema version and checksum (read by verify and the alert webhook) and its delivery alert
(read by the alert inbox); ``synced``: the layout ``sync push`` leaves on shared storage (re-read by
the nightly ``verify --sync-to``); ``alertinbox``: the channels the alert inbox notified per alert (read
by the weekly report for its alerts' ``notified_channels``); ``cihealth``: the latest CI health snapshot
``ci health`` keeps in ops/ci/ (read by the status site).
"""
