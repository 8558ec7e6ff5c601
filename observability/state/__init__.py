"""State between runs: snapshots of the workspace's ops/ tree pulled from and pushed to a state store.

``job.pull``/``job.push`` are the job bodies; ``backends.open_store`` turns a store URL into a backend (file and S3 through ``observability.storage``).
"""
