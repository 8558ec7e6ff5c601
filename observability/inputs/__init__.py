"""``observability inputs pull``: bring the upstream inputs declared in inputs.yaml into the workspace."""
