"""The four kinds of source an input can come from; each fetches into a staging path.

Every fetcher returns a ``Fetched``: the staged file or directory, the source as shown in logs and
provenance (credentials removed), the identity the source gives (commit SHA, ETag, VersionId,
Last-Modified, artifact id) and the bytes it moved. Failures raise InputUnavailable naming the
input and the source; credentials are read from the environment variables the config names,
registered for redaction first, and never put in a URL, an argument list or a message.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from observability import secrets
from observability.errors import ConfigError
from observability.inputs import incremental, staging
from observability.inputs.config import InputSpec
from observability.inputs.errors import InputUnavailable, UnsafeInput
from observability.storage import url as storage_url
from observability.storage.errors import StorageError, StoreUrlError

GIT_TIMEOUT_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 60.0
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


@dataclass
class Fetched:
    spec: InputSpec
    staged: Path
    source: str
    identity: dict[str, Any]
    bytes_fetched: int
    requests: int = 1
    incremental: dict[str, Any] | None = None
    saved: dict[str, Any] | None = None  # incremental state for ops/inputs_state.json
    notes: list[str] = field(default_factory=list)


def display_url(url: str) -> str:
    """A URL as it may be shown: no user info (a password holding "/" too: the storage layer's rule), no
    query or fragment (signed URLs keep their key there)."""
    parts = urlsplit(storage_url.display_url(url))
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # not a number: show no port rather than fail while explaining another error
        port = None
    if port:
        host += f":{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _secret(name: str, environ: Mapping[str, str], where: str) -> secrets.Secret:
    value = secrets.from_env(name, environ=environ)
    if value is None:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return value


def plan(spec: InputSpec, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """What a dry run lists for one input (no network)."""
    return {
        "name": spec.name,
        "kind": spec.kind,
        "destination": spec.destination,
        "incremental": spec.incremental,
        "source": describe(spec, environ),
    }


def describe(spec: InputSpec, environ: Mapping[str, str] = os.environ) -> str:
    s = spec.source
    if spec.kind == "repository":
        return f"{display_url(_git_url(s['url']))}@{s.get('ref', 'HEAD')}:{s['path']}"
    if spec.kind == "s3":
        return f"s3://{s['bucket']}/{s.get('key') or s.get('prefix')}"
    if spec.kind == "https":
        if "url" in s:
            return display_url(s["url"])
        value = environ.get(s["url_env"], "")
        return display_url(value) if value else f"${s['url_env']}"
    where = f"github artifact {s['repo']}:{s['name']}"
    return where + (f" ({s['workflow']})" if s.get("workflow") else "")


# --- repository ----------------------------------------------------------------------------------


def _git_url(url: str) -> str:
    return url[len("git+") :] if url.startswith("git+") else url


class GitFetch:
    """One scratch repository per (url, ref, token): a shallow, blob-less fetch of the ref, then a
    checkout of only the selected paths (their blobs are fetched on demand)."""

    def __init__(self, url: str, ref: str, token_env: str | None, environ: Mapping[str, str], what: str):
        self.remote = _git_url(url)
        self.ref = ref
        self.display = display_url(self.remote)
        self.what = what
        self._dir = Path(tempfile.mkdtemp(prefix="obs-inputs-git-"))
        env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_DIR=str(self._dir))
        if token_env:
            token = _secret(token_env, environ, f"{what}: field repository.token_env")
            if not self.remote.startswith("https://"):
                raise ConfigError(f"{what}: field repository.token_env: a token is only sent over https://")
            header = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token.value}".encode()).decode()
            secrets.register(header)
            secrets.register(header.split()[-1])
            env.update(
                GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"http.{self.remote}.extraheader", GIT_CONFIG_VALUE_0=header
            )
        self._env = env
        self.commit: str | None = None
        self.bytes_fetched = 0
        self.requests = 0

    def _git(
        self, *args: str, what: str, check: bool = True, work_tree: Path | None = None, stdin: bytes | None = None
    ):
        env = dict(self._env)
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        try:
            done = subprocess.run(
                ["git", *args],
                input=stdin,
                capture_output=True,
                env=env,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
                cwd=str(work_tree or self._dir),
            )
        except FileNotFoundError:
            raise InputUnavailable(f"{self.what}: git is not installed") from None
        except subprocess.TimeoutExpired:
            raise InputUnavailable(
                f"{self.what}: git timed out after {GIT_TIMEOUT_SECONDS} s ({what}, {self.display})"
            ) from None
        if check and done.returncode != 0:
            err = secrets.redact(done.stderr.decode("utf-8", "replace").strip()[-400:])
            raise InputUnavailable(f"{self.what}: cannot {what} from {self.display} ({err})")
        return done

    def fetch(self) -> str:
        if self.commit is None:
            self._git("init", "--bare", "--quiet", str(self._dir), what="create a scratch repository")
            self._git("remote", "add", "origin", self.remote, what="configure the remote")
            self._git("config", "remote.origin.promisor", "true", what="configure the remote")
            self._git("config", "remote.origin.partialclonefilter", "blob:none", what="configure the remote")
            self._git(
                "fetch",
                "--quiet",
                "--no-tags",
                "--depth=1",
                "--filter=blob:none",
                "origin",
                f"+{self.ref}:refs/observability/input",
                what=f"fetch {self.ref}",
            )
            self.requests += 1
            self.bytes_fetched += self._pack_bytes()
            self.commit = (
                self._git("rev-parse", "refs/observability/input^{commit}", what="read the fetched commit")
                .stdout.decode()
                .strip()
            )
        return self.commit

    def checkout(self, path: str, staged_root: Path, what: str | None = None) -> Path:
        if what:
            self.what = what  # failures name the input being checked out, not the first of the group
        commit = self.fetch()
        kind = self._git("cat-file", "-t", f"{commit}:{path}", what=f"find {path}", check=False)
        if kind.returncode != 0:
            raise InputUnavailable(
                f"{self.what}: {path} does not exist at {self.ref} ({commit[:12]}) in {self.display}"
            )
        staged_root.mkdir(parents=True, exist_ok=True)
        before = self._pack_bytes()
        self._prefetch(commit, path)
        self._git("checkout", "--quiet", commit, "--", path, what=f"check out {path}", work_tree=staged_root)
        self.bytes_fetched += max(0, self._pack_bytes() - before)
        self.requests += 1
        return staged_root / path

    def _prefetch(self, commit: str, path: str) -> None:
        """The blobs of ``path`` in one fetch, as git's own lazy fetch asks for a missing blob (a
        ``git checkout COMMIT -- PATH`` in a blob-less repository fetches each blob on its own: one
        fetch, process and round trip per file). Best effort: whatever this leaves missing, the
        checkout fetches as before, and its errors are the ones reported."""
        # rev-list's --missing=print names what is missing without fetching it (cat-file would fetch).
        listed = self._git(
            "rev-list", "--objects", "--missing=print", f"{commit}:{path}", what=f"list {path}", check=False
        )
        wanted = [line[1:] for line in listed.stdout.splitlines() if line.startswith(b"?")]
        if listed.returncode != 0 or len(wanted) < 2:
            return
        self._git(
            "-c",
            "fetch.negotiationAlgorithm=noop",
            "fetch",
            "origin",
            "--no-tags",
            "--no-write-fetch-head",
            "--recurse-submodules=no",
            "--filter=blob:none",
            "--stdin",
            what=f"fetch the files of {path}",
            check=False,
            stdin=b"\n".join(wanted) + b"\n",
        )

    def _pack_bytes(self) -> int:
        pack = self._dir / "objects" / "pack"
        return sum(p.stat().st_size for p in pack.glob("*.pack")) if pack.is_dir() else 0

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


# --- https ---------------------------------------------------------------------------------------


def _private_channel(url: str) -> bool:
    """https, or plain http to the loopback interface (nothing leaves the machine)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


class HttpsSource:
    """One URL; headers from named environment variables. Redirects are not followed with credentials."""

    def __init__(self, spec: InputSpec, environ: Mapping[str, str], session=None):
        import requests

        s = spec.source
        where = f"inputs {spec.name}"
        if "url" in s:
            self.url = s["url"]
        else:
            self.url = _secret(s["url_env"], environ, f"{where}: field https.url_env").value
            secrets.register_url(self.url)
        self.display = display_url(self.url)
        self.headers = {}
        if s.get("headers_env") and not _private_channel(self.url):
            raise ConfigError(
                f"{where}: field https.headers_env: credentials are only sent over https:// "
                "(or to this machine, 127.0.0.1/localhost)"
            )
        for header, env_name in sorted((s.get("headers_env") or {}).items()):
            self.headers[header] = _secret(env_name, environ, f"{where}: field https.headers_env.{header}").value
        self.timeout = float(s.get("timeout_seconds", HTTP_TIMEOUT_SECONDS))
        self.what = where
        self.requests = 0
        self._session = session or requests.Session()

    def _get(self, headers: dict[str, str], stream: bool):
        import requests

        self.requests += 1
        try:
            return self._session.get(
                self.url,
                headers={**self.headers, **headers},
                timeout=self.timeout,
                stream=stream,
                allow_redirects=not self.headers,
            )
        except requests.exceptions.RequestException as exc:
            raise InputUnavailable(f"{self.what}: cannot reach {self.display} ({type(exc).__name__})") from None

    def _refuse(self, response) -> InputUnavailable:
        status = response.status_code
        hint = {401: "credentials refused", 403: "forbidden", 404: "not found"}.get(status, "")
        if 300 <= status < 400:
            hint = "redirected; not following a redirect with credentials"
        return InputUnavailable(f"{self.what}: {self.display} answered HTTP {status}" + (f" ({hint})" if hint else ""))

    @staticmethod
    def _identity(response) -> dict[str, Any]:
        out = {"etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified")}
        return {k: v for k, v in out.items() if v}

    def download(self, staged: Path) -> tuple[str, int, dict]:
        import requests

        response = self._get({"Accept-Encoding": "identity"}, stream=True)
        with response:
            if response.status_code != 200:
                raise self._refuse(response)
            try:
                sha, size = staging.write_stream(staged, response.iter_content(staging.CHUNK))
            except requests.exceptions.RequestException as exc:
                raise InputUnavailable(
                    f"{self.what}: download from {self.display} cut short ({type(exc).__name__})"
                ) from None
            expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and int(expected) != size:
                raise InputUnavailable(f"{self.what}: {self.display} sent {size} of {expected} bytes")
            return sha, size, self._identity(response)

    def get_range(
        self, start: int, end: int | None, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> incremental.RangeAnswer:
        import requests

        headers = {"Range": f"bytes={start}-{'' if end is None else end}", "Accept-Encoding": "identity"}
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        response = self._get(headers, stream=False)
        status = response.status_code
        if status in (304, 412, 416):
            return incremental.RangeAnswer(status, b"", response.headers.get("ETag"), None, self._identity(response))
        if status not in (200, 206):
            raise self._refuse(response)
        try:
            body = response.content
        except requests.exceptions.RequestException as exc:
            raise InputUnavailable(f"{self.what}: read from {self.display} cut short ({type(exc).__name__})") from None
        total = len(body) if status == 200 else _content_range_total(response.headers.get("Content-Range"))
        return incremental.RangeAnswer(status, body, response.headers.get("ETag"), total, self._identity(response))

    def close(self) -> None:
        self._session.close()


def _content_range_total(value: str | None) -> int | None:
    match = _CONTENT_RANGE.match((value or "").strip())
    return int(match.group(3)) if match and match.group(3) != "*" else None


# --- s3 ------------------------------------------------------------------------------------------


class S3Source:
    """A key or a prefix of a bucket (endpoint OBS_S3_ENDPOINT_URL, credentials the AWS_* variables)."""

    def __init__(self, spec: InputSpec, environ: Mapping[str, str]):
        from observability.storage.s3 import S3Bucket

        self.bucket = spec.source["bucket"]
        self.key = spec.source.get("key")
        self.prefix = spec.source.get("prefix")
        self.display = f"s3://{self.bucket}/{self.key or self.prefix}"
        self.what = f"inputs {spec.name}"
        try:
            # Keys here are whole keys of the bucket (no prefix): the storage layer's client and errors.
            self._s3 = S3Bucket(self.bucket, "", self.display, environ)
        except StoreUrlError as exc:
            raise ConfigError(exc.message) from None
        self._client = self._s3.client
        self.requests = 0

    def _fail(self, exc: StorageError, key: str) -> InputUnavailable:
        return InputUnavailable(f"{self.what}: cannot read s3://{self.bucket}/{key} ({exc.detail})")

    def _get(self, key: str, **kwargs):
        self.requests += 1
        try:
            with self._s3.mapped("read", key):
                return self._client.get_object(Bucket=self.bucket, Key=key, **kwargs)
        except StorageError as exc:
            raise self._fail(exc, key) from None

    @staticmethod
    def _identity(response: dict) -> dict[str, Any]:
        out = {
            "etag": response.get("ETag"),
            "version_id": response.get("VersionId"),
            "last_modified": response["LastModified"].isoformat() if response.get("LastModified") else None,
        }
        return {k: v for k, v in out.items() if v and v != "null"}

    def _download(self, key: str, staged: Path) -> tuple[str, int, dict]:
        response = self._get(key)
        try:
            with self._s3.mapped("read", key):
                sha, size = staging.write_stream(staged, response["Body"].iter_chunks(staging.CHUNK))
        except StorageError as exc:
            raise self._fail(exc, key) from None
        if size != response.get("ContentLength", size):
            raise InputUnavailable(
                f"{self.what}: s3://{self.bucket}/{key} sent {size} of {response['ContentLength']} bytes"
            )
        return sha, size, self._identity(response)

    def download(self, staged: Path) -> tuple[str, int, dict]:
        assert self.key is not None  # an object source: the config names its key
        return self._download(self.key, staged)

    def download_prefix(self, staged_dir: Path) -> tuple[int, dict]:
        assert self.prefix is not None  # a prefix source: the config names its prefix
        staged_dir.mkdir(parents=True, exist_ok=True)
        objects, total = [], 0
        try:
            with self._s3.mapped("list", self.prefix):
                pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
                keys = []
                for page in pages:
                    self.requests += 1
                    keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        except StorageError as exc:
            raise self._fail(exc, self.prefix) from None
        if not keys:
            raise InputUnavailable(f"{self.what}: no objects under {self.display}")
        for key in sorted(keys):
            rel = staging.safe_member(key[len(self.prefix) :], what=f"{self.what} ({self.display})")
            sha, size, identity = self._download(key, staged_dir / rel)
            total += size
            objects.append({"key": key, "sha256": sha, **identity})
        return total, {"objects": objects}

    def get_range(
        self, start: int, end: int | None, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> incremental.RangeAnswer:
        kwargs: dict[str, Any] = {"Range": f"bytes={start}-{'' if end is None else end}"}
        if if_match:
            kwargs["IfMatch"] = if_match
        if if_none_match:
            kwargs["IfNoneMatch"] = if_none_match
        self.requests += 1
        assert self.key is not None  # an object source: the config names its key
        try:
            with self._s3.mapped("read", self.key):
                response = self._client.get_object(Bucket=self.bucket, Key=self.key, **kwargs)
                body = response["Body"].read()
        except StorageError as exc:
            for status, codes in (
                (304, ("304", "NotModified")),
                (412, ("412", "PreconditionFailed")),
                (416, ("416", "InvalidRange")),
            ):
                if exc.code in codes or exc.status == status:
                    return incremental.RangeAnswer(status)
            raise self._fail(exc, self.key) from None
        content_range = response.get("ContentRange")
        status = 206 if content_range else 200
        total = _content_range_total(content_range) if content_range else len(body)
        return incremental.RangeAnswer(status, body, response.get("ETag"), total, self._identity(response))

    def close(self) -> None:
        pass


# --- artifact ------------------------------------------------------------------------------------


def fetch_artifact(
    spec: InputSpec, staged_root: Path, environ: Mapping[str, str], client_factory, downloaded: dict | None = None
) -> Fetched:
    """Newest non-expired artifact named ``name`` (of ``workflow`` / ``branch`` when given), extracted.

    ``downloaded`` (shared by the inputs of one pull) keeps each archive, so several inputs taken
    from the same artifact list and download it once.
    """
    s = spec.source
    what = f"inputs {spec.name}"
    display = describe(spec)
    key = (s["repo"], s["name"], s.get("workflow"), s.get("branch"), s.get("token_env"))
    if downloaded is not None and key in downloaded:
        chosen, archive = downloaded[key]
        extracted = _extract(archive, staged_root, s.get("path"), what=f"{what} ({display})")
        return Fetched(spec, extracted, display, _artifact_identity(chosen), 0, 0)
    client = client_factory(s["repo"], s.get("token_env"))
    try:
        run_ids = None
        if s.get("workflow"):
            run_ids = {run["id"] for run in client.list_workflow_runs(s["workflow"], branch=s.get("branch"))}
        chosen = None
        for artifact in client.list_artifacts(name=s["name"]):
            if artifact.get("expired") or artifact.get("name") != s["name"]:
                continue
            run = artifact.get("workflow_run") or {}
            if run_ids is not None and run.get("id") not in run_ids:
                continue
            if s.get("branch") and run.get("head_branch") != s["branch"]:
                continue
            if chosen is None or (artifact.get("created_at") or "", artifact["id"]) > (
                chosen.get("created_at") or "",
                chosen["id"],
            ):
                chosen = artifact
        if chosen is None:
            raise InputUnavailable(f"{what}: no unexpired artifact named {s['name']!r} in {display}")
        archive = staged_root.with_suffix(".zip")
        archive.parent.mkdir(parents=True, exist_ok=True)
        size = client.download_artifact(chosen["id"], archive)
        requests = client.calls
    except InputUnavailable:
        raise
    except Exception as exc:  # GitHubError and friends: name the input and the source
        from observability.errors import ObservabilityError

        if isinstance(exc, ObservabilityError):
            raise InputUnavailable(f"{what}: {display}: {exc.message}") from None
        raise
    finally:
        client.close()
    if downloaded is not None:
        downloaded[key] = (chosen, archive)  # in the staging directory: removed with it
    try:
        extracted = _extract(archive, staged_root, s.get("path"), what=f"{what} ({display})")
    finally:
        if downloaded is None:
            archive.unlink(missing_ok=True)
    return Fetched(spec, extracted, display, _artifact_identity(chosen), size, requests)


def _artifact_identity(chosen: dict) -> dict[str, Any]:
    run = chosen.get("workflow_run") or {}
    identity = {
        "artifact_id": chosen["id"],
        "run_id": run.get("id"),
        "head_sha": run.get("head_sha"),
        "digest": chosen.get("digest"),
        "created_at": chosen.get("created_at"),
    }
    return {k: v for k, v in identity.items() if v}


def _extract(archive: Path, staged_root: Path, path: str | None, *, what: str) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = []
            for info in zf.infolist():
                rel = staging.safe_member(info.filename, what=what)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafeInput(f"{what}: entry {rel} is a symlink; refusing")
                if info.is_dir():
                    continue
                if path and not (rel == path or rel.startswith(path.rstrip("/") + "/")):
                    continue
                members.append((rel, info))
            if not members:
                raise InputUnavailable(f"{what}: the artifact holds no {path or 'files'}")
            for rel, info in members:
                target = staged_root / rel
                with zf.open(info) as handle:
                    staging.write_stream(target, iter(lambda: handle.read(staging.CHUNK), b""))
    except zipfile.BadZipFile as exc:
        raise InputUnavailable(f"{what}: the downloaded artifact is not a zip file ({exc})") from None
    if path and (staged_root / path).is_file():
        return staged_root / path
    return staged_root / path if path else staged_root
