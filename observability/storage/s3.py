"""``s3://bucket/prefix``: S3 or any S3-compatible store (MinIO, moto) through boto3 (the ``s3`` extra).

Endpoint from ``OBS_S3_ENDPOINT_URL``; credentials, region and retry settings from the standard AWS
variables, read by boto3 itself. One client per process and environment (``client``), and one
place (``S3Bucket.mapped``) that turns botocore's exceptions into StorageError. A create-if-absent
is ``PutObject`` + ``If-None-Match: *``: of two writers S3 accepts one and answers 412 to the other.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from observability import secrets
from observability.storage import ObjectInfo
from observability.storage.errors import StorageError, StoreUrlError

NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
LOST_RACE = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
RETRYABLE = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "503",
        "500",
        "502",
        "504",
    }
)
NO_CREDENTIALS = "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys

_CLIENTS: dict[tuple, Any] = {}


def client(display: str, environ: Mapping[str, str] = os.environ):
    """A boto3 S3 client for ``display``'s storage and botocore's exceptions module.

    The AWS secrets are registered for redaction first. A client is reused within the process for
    the same endpoint and credentials (creating one loads botocore's S3 model: about 0.1 s, paid
    once per `cycle` instead of once per step).
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
    identity = (
        endpoint,
        *(
            os.environ.get(name)
            for name in (
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_PROFILE",
                "AWS_MAX_ATTEMPTS",
                "AWS_RETRY_MODE",
                "AWS_CONFIG_FILE",
                "AWS_SHARED_CREDENTIALS_FILE",
            )
        ),
    )
    cached = _CLIENTS.get(identity)
    if cached is not None:
        return cached, bexc
    # Timeouts bound an outage; retry count and mode come from AWS_MAX_ATTEMPTS / AWS_RETRY_MODE.
    config = Config(connect_timeout=5, read_timeout=30, s3={"addressing_style": "path"} if endpoint else None)
    made = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
    _CLIENTS.clear()  # one identity at a time: a changed environment gets a fresh client
    _CLIENTS[identity] = made
    return made, bexc


def etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for; None for multipart and SSE-KMS ETags (not the MD5 of the content)."""
    etag = (etag or "").strip('"')
    return etag if len(etag) == 32 and "-" not in etag else None


def error(bexc, exc: Exception, display: str, action: str, key: str) -> StorageError:
    """The StorageError for a botocore exception raised while doing ``action`` on ``key``."""
    if isinstance(exc, bexc.NoCredentialsError):
        return StorageError(f"{display}: {NO_CREDENTIALS}", detail=NO_CREDENTIALS)
    if isinstance(exc, bexc.ClientError):
        body = exc.response.get("Error", {})
        code = str(body.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        detail = f"{code}: {secrets.redact(str(body.get('Message', '')))}"
        return StorageError(
            f"{display}: cannot {action} {key or '/'} ({detail})",
            detail=detail,
            code=code,
            status=status,
            retryable=code in RETRYABLE or status >= 500 or status == 429,
            missing=code in NOT_FOUND,
            conflict=code in LOST_RACE,
        )
    detail = f"{type(exc).__name__}: {secrets.redact(str(exc))}"
    return StorageError(
        f"{display}: cannot {action} {key or '/'} ({detail})", detail=detail, code=type(exc).__name__, retryable=True
    )


class S3Bucket:
    """Keys under ``prefix`` in ``bucket``. Uploads given a SHA-256 carry ChecksumSHA256 (S3 re-hashes)."""

    def __init__(self, bucket: str, prefix: str, display: str, environ: Mapping[str, str] = os.environ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.display = display
        self.client, self._bexc = client(display, environ)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    @contextlib.contextmanager
    def mapped(self, action: str, key: str) -> Iterator[None]:
        """Every botocore failure inside becomes StorageError (the only place that reads botocore's errors)."""
        try:
            yield
        except (self._bexc.ClientError, self._bexc.BotoCoreError) as exc:
            raise error(self._bexc, exc, self.display, action, key) from None

    def get(self, key: str) -> bytes | None:
        try:
            with self.mapped("read", key):
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except StorageError as exc:
            if exc.missing:
                return None
            raise

    def stat(self, key: str, *, checksum: bool = False) -> ObjectInfo | None:
        extra = {"ChecksumMode": "ENABLED"} if checksum else {}
        try:
            with self.mapped("check", key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except StorageError as exc:
            if exc.missing:
                return None
            raise
        sha = None
        found = head.get("ChecksumSHA256")
        if found and "-" not in found:  # a composite (multipart) checksum is not the object's hash
            sha = base64.b64decode(found).hex()
        modified = head.get("LastModified")
        return ObjectInfo(
            int(head.get("ContentLength") or 0),
            modified.timestamp() if modified else 0.0,
            sha,
            etag_md5(head.get("ETag")),
            f"{head.get('ETag', '')}:{head.get('LastModified', '')}:{head.get('ContentLength', '')}",
        )

    def list(self, prefix: str) -> dict[str, ObjectInfo]:
        found: dict[str, ObjectInfo] = {}
        with self.mapped("list", prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    found[self._rel(item["Key"])] = ObjectInfo(
                        int(item["Size"]), item["LastModified"].timestamp(), md5=etag_md5(item.get("ETag"))
                    )
        return found

    def put(
        self, key: str, data: bytes, *, sha256: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        extra: dict[str, Any] = {}
        if sha256 is not None:
            # S3 recomputes the SHA-256 of what it received and refuses the upload on a mismatch.
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        if metadata:
            extra["Metadata"] = dict(metadata)
        with self.mapped("write", key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    def create(self, key: str, data: bytes) -> bool:
        try:
            with self.mapped("commit", key):
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
            return True
        except StorageError as exc:
            if exc.conflict:
                return False
            raise

    def delete(self, key: str) -> None:
        try:
            with self.mapped("delete", key):
                self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except StorageError as exc:
            if not exc.missing:
                raise

    def delete_many(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self._key(k)} for k in keys[start : start + DELETE_BATCH]]
            with self.mapped("delete", keys[start]):
                response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                code = str(first.get("Code", ""))
                detail = f"{first.get('Code')}: {first.get('Message')}"
                raise StorageError(
                    f"{self.display}: cannot delete {self._rel(first.get('Key', ''))} ({detail})",
                    detail=detail,
                    code=code,
                    retryable=True,
                )

    def ensure(self) -> None:
        return None  # a bucket is made by whoever owns it, never by us

    def sweep_temps(self, *, now: float | None = None) -> builtins.list[str]:
        return []  # S3 writes are whole objects: no temp files
