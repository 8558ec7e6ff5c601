"""``observability site build``: the static status site (HTML, SVG charts, status.json, badges)."""
