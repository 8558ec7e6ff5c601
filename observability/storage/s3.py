"""``s3://bucket/prefix``: S3 or any S3-compatible store (MinIO, moto) through boto3 (the ``s3`` extra).

Endpoint from ``OBS_S3_ENDPOINT_URL``; credentials, region and retry settings from the standard AWS
variables, read by boto3 itself. Manifests are committed with a conditional create
(``PutObject`` + ``If-None-Match: *``): of two runs writing the same generation, S3 accepts one and
answers 412 to the other.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

from observability import secrets
from observability.store.backends.base import KeyValueStore
from observability.store.errors import StoreUnreachable, StoreUrlError

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_LOST_RACE = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


_CLIENTS: dict[tuple, Any] = {}


def client(display: str, environ: Mapping[str, str] = os.environ):
    """A boto3 S3 client for ``display``'s store and botocore's exceptions module.

    The AWS secrets are registered for redaction first. Shared by the state store and ``sync``.
    A client is reused within the process for the same endpoint and credentials (creating one
    loads botocore's S3 model: about 0.1 s, paid once per `cycle` instead of once per step).
    """
    try:
        import boto3
        import botocore.exceptions as bexc
        from botocore.config import Config
    except ImportError:
        raise StoreUrlError(f"{display}: the s3 backend needs boto3: pip install 'observability[s3]'") from None
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        secrets.from_env(name, environ=environ)
    endpoint = environ.get("OBS_S3_ENDPOINT_URL") or None
    identity = (endpoint, *(os.environ.get(name) for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
        "AWS_PROFILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")))
    cached = _CLIENTS.get(identity)
    if cached is not None:
        return cached, bexc
    # Timeouts bound an outage; retry count and mode come from AWS_MAX_ATTEMPTS / AWS_RETRY_MODE.
    config = Config(connect_timeout=5, read_timeout=30, s3={"addressing_style": "path"} if endpoint else None)
    made = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
    _CLIENTS.clear()  # one identity at a time: a changed environment gets a fresh client
    _CLIENTS[identity] = made
    return made, bexc


class S3Store(KeyValueStore):
    def __init__(self, bucket: str, prefix: str, display: str, environ: Mapping[str, str] = os.environ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.display = display
        self._client, self._bexc = client(display, environ)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, key: str, func, **kwargs) -> Any:
        try:
            return func(Bucket=self.bucket, Key=self._key(key), **kwargs)
        except self._bexc.ClientError:
            raise
        except self._bexc.NoCredentialsError:
            raise StoreUnreachable(f"{self.display}: no AWS credentials (set AWS_ACCESS_KEY_ID and "
                                   f"AWS_SECRET_ACCESS_KEY)") from None
        except self._bexc.BotoCoreError as exc:
            raise StoreUnreachable(f"{self.display}: cannot {action} {key} ({type(exc).__name__}: "
                                   f"{secrets.redact(str(exc))})") from None

    def _client_error(self, action: str, key: str, exc) -> StoreUnreachable:
        error = exc.response.get("Error", {})
        return StoreUnreachable(f"{self.display}: cannot {action} {key} ({error.get('Code')}: "
                                f"{secrets.redact(str(error.get('Message', '')))})")

    @staticmethod
    def _code(exc) -> str:
        return str(exc.response.get("Error", {}).get("Code", ""))

    def _get(self, key: str) -> bytes | None:
        try:
            response = self._call("read", key, self._client.get_object)
            return response["Body"].read()
        except self._bexc.ClientError as exc:
            if self._code(exc) in _NOT_FOUND:
                return None
            raise self._client_error("read", key, exc) from None
        except self._bexc.BotoCoreError as exc:  # a read cut mid-body
            raise StoreUnreachable(f"{self.display}: cannot read {key} ({type(exc).__name__})") from None

    def _stat(self, key: str) -> str | None:
        try:
            response = self._call("check", key, self._client.head_object)
        except self._bexc.ClientError as exc:
            if self._code(exc) in _NOT_FOUND:
                return None
            raise self._client_error("check", key, exc) from None
        return f"{response.get('ETag', '')}:{response.get('LastModified', '')}:{response.get('ContentLength', '')}"

    def _put(self, key: str, data: bytes, sha256: str | None = None) -> None:
        extra = {}
        if sha256 is not None:
            # S3 recomputes the SHA-256 of what it received and refuses the upload on a mismatch.
            extra = {"ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode("ascii")}
        try:
            self._call("write", key, self._client.put_object, Body=data, **extra)
        except self._bexc.ClientError as exc:
            raise self._client_error("write", key, exc) from None

    def _create(self, key: str, data: bytes) -> bool:
        try:
            self._call("commit", key, self._client.put_object, Body=data, IfNoneMatch="*")
            return True
        except self._bexc.ClientError as exc:
            if self._code(exc) in _LOST_RACE:
                return False
            raise self._client_error("commit", key, exc) from None

    def _list(self, prefix: str) -> list[tuple[str, float]]:
        start = len(self._key(""))
        found = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                            Prefix=self._key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    found.append((item["Key"][start:], item["LastModified"].timestamp()))
        except self._bexc.ClientError as exc:
            raise self._client_error("list", prefix, exc) from None
        except self._bexc.BotoCoreError as exc:
            raise StoreUnreachable(f"{self.display}: cannot list {prefix} ({type(exc).__name__})") from None
        return found

    def _delete(self, key: str) -> None:
        try:
            self._call("delete", key, self._client.delete_object)
        except self._bexc.ClientError as exc:
            if self._code(exc) not in _NOT_FOUND:
                raise self._client_error("delete", key, exc) from None
