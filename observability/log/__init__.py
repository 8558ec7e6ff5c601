"""``observability log``: rebuild a damaged or gapped automation log, and the operations KPIs it holds."""
