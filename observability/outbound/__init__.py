"""Outbound delivery shared by every job: one retry policy, webhook signatures, the signed webhook POST.

``retry`` (attempts, backoff, Retry-After), ``signing`` (``X-OBS-Signature`` and Standard Webhooks
headers) and ``delivery`` (the POST with retries). Jobs decide what to send; this package sends it.
"""
