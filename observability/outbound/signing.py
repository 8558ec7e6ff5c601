"""Webhook signatures: the upstream ``X-OBS-Signature`` and Standard Webhooks headers.

``OBS_WEBHOOK_SECRET`` may hold several secrets separated by spaces, newest first, while a
secret is rotated: ``X-OBS-Signature`` uses the newest, ``webhook-signature`` carries one
``v1,<base64>`` entry per secret so a receiver on either secret verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from observability.errors import ConfigError
from observability.secrets import Secret

WHSEC_PREFIX = "whsec_"
# The shortest key ``--check-secrets`` accepts. Signing itself takes any non-empty key (a receiver
# chose it), but HMAC-SHA256 keys under 16 bytes are guessable; Standard Webhooks issues 24 to 64.
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class SigningKeys:
    """The HMAC keys derived from a secret variable, newest first; never shown in a repr."""

    keys: tuple[bytes, ...] = field(repr=False)

    @property
    def newest(self) -> bytes:
        return self.keys[0]


def key_of(secret: str, *, name: str = "webhook secret") -> bytes:
    """The HMAC key: the base64 part of a ``whsec_`` secret, else the secret's UTF-8 bytes."""
    if secret.startswith(WHSEC_PREFIX):
        encoded = secret[len(WHSEC_PREFIX) :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{name}: a whsec_ secret must be base64 after the prefix") from None
        if not key:
            raise ConfigError(f"{name}: empty whsec_ secret")
        return key
    return secret.encode("utf-8")


def keys_from(secret: Secret) -> SigningKeys:
    parts = secret.value.split()
    if not parts:
        raise ConfigError(f"{secret.name}: empty")
    return SigningKeys(tuple(key_of(p, name=secret.name) for p in parts))


def obs_signature(key: bytes, body: bytes) -> str:
    """``X-OBS-Signature``: lowercase hex HMAC-SHA256 of the exact body."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def standard_signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` entry: HMAC-SHA256 over ``{id}.{timestamp}.{body}``."""
    signed = webhook_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(keys: SigningKeys, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every signature header for one attempt (the timestamp is the attempt's own)."""
    return {
        "X-OBS-Signature": obs_signature(keys.newest, body),
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_signature(k, webhook_id, timestamp, body) for k in keys.keys),
    }
