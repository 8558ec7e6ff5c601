"""The latency job: ingest signal-latency samples, keep raw and hourly rollups, evaluate SLOs."""
