"""``git+file:///repo.git#branch`` / ``git+https://github.com/o/r.git#branch``: an orphan branch.

Each push replaces the branch with one parentless commit whose tree is ``manifest.json`` plus the
blobs it names (``blobs/sha256/<xx>/<sha256>``), pushed with ``--force-with-lease`` on the commit
that was read: if another run moved the branch meanwhile, git refuses and this run re-plans. Old
snapshots become unreachable, so the branch stays one snapshot deep. Over https the token comes
from ``OBS_STATE_TOKEN`` (a token for a separate state repository) or else ``GITHUB_TOKEN``, and
reaches git as an ``http.extraheader`` through ``GIT_CONFIG_*`` variables, never in the URL, the
command line or the logs.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from observability import clock, secrets
from observability.state.backends.base import (
    MARKER,
    BlobSource,
    Head,
    blob_key,
    marker_bytes,
    not_initialised,
    stored_blobs,
)
from observability.state.errors import SnapshotCorrupt, StoreNotInitialised, StoreUnreachable
from observability.state.manifest import Manifest, parse
from observability.state.selection import encode

MANIFEST = "manifest.json"
LOCAL_REF = "refs/observability/head"
NEW_REF = "refs/observability/new"
TIMEOUT_SECONDS = 120


def _sends_token(remote: str) -> bool:
    """The token only ever travels over TLS."""
    return remote.startswith("https://")


class GitStore:
    def __init__(self, remote: str, branch: str, display: str, environ: Mapping[str, str] = os.environ):
        self.remote = remote
        self.branch = branch
        self.display = display
        self._dir = Path(tempfile.mkdtemp(prefix="obs-state-git-"))
        self._env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
        self._env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_DIR=str(self._dir),
            GIT_AUTHOR_NAME="observability",
            GIT_AUTHOR_EMAIL="observability@users.noreply.github.com",
            GIT_COMMITTER_NAME="observability",
            GIT_COMMITTER_EMAIL="observability@users.noreply.github.com",
        )
        if _sends_token(remote):
            token = secrets.from_env("OBS_STATE_TOKEN", environ=environ) or secrets.from_env(
                "GITHUB_TOKEN", environ=environ
            )
            if token is not None:
                header = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token.value}".encode()).decode(
                    "ascii"
                )
                secrets.register(header)
                secrets.register(header.split()[-1])
                self._env.update(
                    GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"http.{remote}.extraheader", GIT_CONFIG_VALUE_0=header
                )
        self._git("init", "--bare", "--quiet", str(self._dir), what="create a scratch repository")
        self._oids: dict[str, str] = {}

    def _git(
        self, *args: str, what: str, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(
                ["git", *args], input=stdin, capture_output=True, env=self._env, timeout=TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError:
            raise StoreUnreachable(f"{self.display}: git is not installed") from None
        except subprocess.TimeoutExpired:
            raise StoreUnreachable(f"{self.display}: git timed out after {TIMEOUT_SECONDS} s ({what})") from None
        if check and done.returncode != 0:
            raise StoreUnreachable(
                f"{self.display}: cannot {what} "
                f"({secrets.redact(done.stderr.decode('utf-8', 'replace').strip()[-500:])})"
            )
        return done

    def head(self) -> Head:
        listed = self._git("ls-remote", "--heads", self.remote, f"refs/heads/{self.branch}", what="list the branch")
        if not listed.stdout.strip():
            raise not_initialised(self.display, f"the repository has no branch {self.branch}")
        self._git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--depth=1",
            self.remote,
            f"+refs/heads/{self.branch}:{LOCAL_REF}",
            what=f"fetch branch {self.branch}",
        )
        commit = self._git("rev-parse", LOCAL_REF, what="read the fetched commit").stdout.decode().strip()
        raw = self._git("cat-file", "blob", f"{commit}:{MANIFEST}", what="read the manifest", check=False)
        if raw.returncode != 0:
            marker = self._git("cat-file", "-e", f"{commit}:{MARKER}", what="look for the marker", check=False)
            if marker.returncode == 0:  # `state init` made the branch: no generation yet
                self._oids = {}
                return Head(None, commit)
            raise SnapshotCorrupt(f"{self.display}: commit {commit[:12]} has no {MANIFEST}")
        tree = self._git("ls-tree", "-r", "-z", commit, "blobs", what="list blobs").stdout
        self._oids = {}
        for item in tree.split(b"\0"):
            if item:
                meta, path = item.decode().split("\t", 1)
                self._oids[path.rsplit("/", 1)[-1]] = meta.split()[2]
        return Head(parse(raw.stdout, where=f"{self.display} {commit[:12]}:{MANIFEST}"), commit)

    def initialise(self) -> tuple[bool, int]:
        """Create the branch as one parentless commit holding only the marker (never over an existing branch)."""
        try:
            return False, self.head().generation
        except StoreNotInitialised:
            pass
        body = marker_bytes()
        stream = self._commit_header(b"observability state store\n")
        stream += f"M 100644 inline {MARKER}\ndata {len(body)}\n".encode() + body + b"\n"
        # An empty lease: the push succeeds only if the branch still does not exist.
        pushed = self._build_and_push(bytes(stream), "", built="build the marker commit", what="create the branch")
        if pushed.returncode == 0:
            return True, 0
        return False, self.head().generation  # another run created it first; head() says what is there

    def get_blob(self, sha256: str, encoding: str | None = None) -> bytes:
        key = blob_key(sha256, encoding)
        oid = self._oids.get(key.rsplit("/", 1)[-1])
        if oid is None:
            raise SnapshotCorrupt(f"{self.display}: {key} missing from the branch")
        return self._git("cat-file", "blob", oid, what=f"read {key}").stdout

    def publish(self, manifest: Manifest, blobs: BlobSource, expected: Head) -> tuple[bool, int]:
        stream = self._commit_header(
            f"observability state generation {manifest.generation} ({manifest.job_id})\n".encode()
        )
        sent = 0
        for sha, encoding in sorted(stored_blobs(manifest), key=lambda b: (b[0], b[1] or "")):
            key = blob_key(sha, encoding)
            oid = self._oids.get(key.rsplit("/", 1)[-1])
            if oid is not None:  # already on the branch: reference it, git sends nothing for it
                stream += f"M 100644 {oid} {key}\n".encode()
                continue
            data = encode(blobs(sha), encoding)
            sent += len(data)
            stream += f"M 100644 inline {key}\ndata {len(data)}\n".encode() + data + b"\n"
        body = manifest.to_bytes()
        stream += f"M 100644 inline {MANIFEST}\ndata {len(body)}\n".encode() + body + b"\n"
        pushed = self._build_and_push(bytes(stream), expected.token, built="build the snapshot commit", what="push")
        if pushed.returncode == 0:
            return True, sent
        report = pushed.stdout.decode("utf-8", "replace") + pushed.stderr.decode("utf-8", "replace")
        # "stale info": the lease check saw another commit. "cannot lock ref"/"failed to update ref": the
        # remote's own compare-and-swap on the ref lost to a push that landed in between (or is landing).
        if any(sign in report for sign in ("stale info", "[rejected]", "cannot lock ref", "failed to update ref")):
            return False, sent
        raise StoreUnreachable(f"{self.display}: cannot push ({secrets.redact(report.strip()[-500:])})")

    def _commit_header(self, message: bytes) -> bytearray:
        """The start of a fast-import stream: a commit on the scratch ref, now, with ``message``."""
        when = int(clock.now().timestamp())
        header = f"commit {NEW_REF}\ncommitter observability <observability@users.noreply.github.com> {when} +0000\n"
        return bytearray(f"{header}data {len(message)}\n".encode() + message)

    def _build_and_push(self, stream: bytes, lease: str, *, built: str, what: str) -> subprocess.CompletedProcess:
        """Build the commit of ``stream`` on the scratch ref and push it to the branch only if the branch
        is still at ``lease`` (empty: the branch does not exist); git's result, not checked."""
        self._git("update-ref", "-d", NEW_REF, what="reset the scratch ref", check=False)
        self._git("fast-import", "--quiet", "--force", what=built, stdin=stream)
        return self._git(
            "push",
            "--porcelain",
            f"--force-with-lease=refs/heads/{self.branch}:{lease}",
            self.remote,
            f"{NEW_REF}:refs/heads/{self.branch}",
            what=what,
            check=False,
        )

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
