"""Shared storage: the dashboard bundle and the weekly payloads copied to a file or S3 target.

``job.push`` is the ``sync push`` job body, ``job.run`` the call ``dashboard export --sync-to`` makes,
``job.open_target`` turns a ``--to`` URL into a bucket of the storage layer (``observability.storage``).
"""
