"""``--check-secrets``: every job command checks what its job declares (observability/jobs.py ``needs``),
prints names and verdicts only, exits 0/2 (1 when an online probe cannot reach the API), runs nothing
and writes nothing; ``--check-secrets-online`` asks the fake GitHub API about the token."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from _support_github import FakeGitHub
from observability import jobs, secretcheck, secrets
from observability.cli import cli
from tests._support_robust import clean_env, run_cli

CANARY = "CaNaRy7f3e9d0c1b2a"
GOOD = {
    "OBS_WEEKLY_WEBHOOK_URL": f"https://hooks.example.test/weekly/{CANARY}url",
    "OBS_WEBHOOK_SECRET": "whsec_" + base64.b64encode((CANARY + "k" * 14).encode()).decode(),
    "GITHUB_TOKEN": "ghp_" + CANARY + "A" * 20,
    "GITHUB_REPOSITORY": "acme/ops",
    "OBS_ALERTS_SLACK_WEBHOOK": f"https://hooks.slack.test/services/{CANARY}slack",
    "OBS_PAGERDUTY_ROUTING_KEY": (CANARY + "p" * 32)[:32],
    "OBS_HEARTBEAT_PING_URL": f"https://hc-ping.test/{CANARY}ping",
    "OBS_LATENCY_PROBES": f"feed_a=https://feed.test/health?token={CANARY}probe",
    "OBS_STATE_STORE": "s3://bucket/observability-state",
    "OBS_SYNC_TO": "s3://bucket/observability",
    "AWS_ACCESS_KEY_ID": "AKIA" + "Q" * 16,
    "AWS_SECRET_ACCESS_KEY": (CANARY + "/" + "s" * 40)[:40],
    "OBS_INPUTS_TOKEN": "github_pat_" + CANARY + "_" + "b" * 30,
    "OBS_INPUTS_AUTHORIZATION": f"Bearer {CANARY}auth",
}
# One bad value per kind, each still carrying the canary: a reason must never quote it.
BAD = {
    "OBS_WEEKLY_WEBHOOK_URL": f"ftp://hooks.example.test/{CANARY}",
    "OBS_WEBHOOK_SECRET": f"whsec_{CANARY}!!",
    "GITHUB_TOKEN": f"token {CANARY}",
    "GITHUB_REPOSITORY": f"{CANARY}",
    "OBS_ALERTS_SLACK_WEBHOOK": f"{CANARY}",
    "OBS_PAGERDUTY_ROUTING_KEY": f"{CANARY}-short",
    "OBS_HEARTBEAT_PING_URL": f"https://:{CANARY}@/",
    "OBS_LATENCY_PROBES": f"{CANARY}",
    "OBS_STATE_STORE": f"s3://user:{CANARY}@bucket/x",
    "OBS_SYNC_TO": f"ftp://{CANARY}",
    "AWS_ACCESS_KEY_ID": f"{CANARY}",
    "AWS_SECRET_ACCESS_KEY": f"{CANARY}",
    "OBS_INPUTS_TOKEN": f"{CANARY} x",
    "OBS_INPUTS_AUTHORIZATION": f"Bearer {CANARY}\nX-Evil: 1",
}
COMMANDS = [
    ["latency", "sample"],
    ["weekly", "report"],
    ["weekly", "replay", "--week-start", "2026-01-05"],
    ["dashboard", "export"],
    ["verify"],
    ["alerts", "sync"],
    ["alerts", "report-failure", "--job", "latency"],
    ["alerts", "drill"],
    ["inputs", "pull"],
    ["state", "init"],
    ["state", "pull"],
    ["state", "push"],
    ["sync", "push"],
    ["workflow", "run"],
    ["cycle", "--", "weekly", "report"],
]


@pytest.fixture(autouse=True)
def _forget():
    secrets.forget_all()
    yield
    secrets.forget_all()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _invoke(args: list[str], env: dict[str, str], ws: Path):
    base = {name: None for name in {*GOOD, *secrets.SECRET_ENV, "GITHUB_API_URL", "OBS_S3_ENDPOINT_URL"}}
    base.update({"GITHUB_ACTIONS": None, "OBS_WORKSPACE": str(ws), "OBS_NOW": "2026-01-08T00:07:00Z"})
    return CliRunner().invoke(cli, args, env={**base, **env}, catch_exceptions=False)


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True)
    (ws / "ops" / "automation_runs.log").write_text("", encoding="utf-8")
    return ws


# -- the declaration ----------------------------------------------------------------------------
def test_every_declared_need_has_a_known_kind_and_every_secret_is_scrubbed():
    for job in jobs.JOBS:
        for need in job.needs:
            if need.kind == "config_names":
                continue
            assert need.kind in secretcheck.KINDS, (job.name, need.name)
            assert need.required in ("always", "outward", "optional")
            if need.secret:
                assert need.name in secrets.SECRET_ENV, f"{need.name}: a secret the runtime would not scrub"


def _leaves(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                yield (*prefix, name), command
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_command_of_a_job_that_reads_secrets_has_the_flag():
    has_flag = {path for path, command in _leaves(cli) if any(p.name == "check_secrets" for p in command.params)}
    for job in jobs.JOBS:
        if not job.needs:
            continue
        reading = {c.path for c in job.commands if c.path not in (("dashboard", "verify"), ("verify", "job"))}
        assert reading <= has_flag, f"{job.name}: no --check-secrets on {sorted(reading - has_flag)}"
    assert {("cycle",), ("workflow", "run")} <= has_flag


def test_the_cycle_and_the_chain_check_the_jobs_they_run():
    chain = {n.name for n in jobs.needs(*(j.name for j in jobs.chain_steps()))}
    assert {"OBS_LATENCY_PROBES", "OBS_WEEKLY_WEBHOOK_URL", "OBS_DASHBOARD_UPLOAD_COMMAND"} <= chain
    strict = {n.name: n.required for n in jobs.needs("alerts", "weekly")}
    assert strict["OBS_WEEKLY_WEBHOOK_URL"] == "outward"  # weekly's own beats the alert mirror's optional


def test_the_config_files_the_registry_names_are_the_ones_the_jobs_read():
    from observability.config.alerts import ALERTS_CONFIG
    from observability.config.latency import LATENCY_CONFIG
    from observability.inputs.config import INPUTS_CONFIG

    named = {j.name: n.name for j in jobs.JOBS for n in j.needs if n.kind == "config_names"}
    assert named == {"latency": LATENCY_CONFIG, "alerts": ALERTS_CONFIG, "inputs": INPUTS_CONFIG}
    for kind in secretcheck.CONFIG_KEY_KINDS.values():
        assert kind in secretcheck.KINDS


def test_variables_a_config_names_are_checked_under_those_names(tmp_path):
    ws = _workspace(tmp_path)
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "latency_alert.yaml").write_text(
        "probes:\n  - name: feed_env\n    url_env: FEED_HEALTH_URL\n", encoding="utf-8"
    )
    (ws / "configs" / "observability" / "inputs.yaml").write_text(
        "sources:\n  - name: notifier\n    https:\n      url_env: NOTIFIER_URL\n"
        "      headers_env: {Authorization: NOTIFIER_AUTH}\n",
        encoding="utf-8",
    )
    missing = _invoke(["latency", "sample", "--check-secrets"], {}, ws)
    assert missing.exit_code == 2
    assert {s["name"]: s["verdict"] for s in json.loads(missing.stdout)["secrets"]}["FEED_HEALTH_URL"] == "missing"
    bad = _invoke(["latency", "sample", "--check-secrets"], {"FEED_HEALTH_URL": f"gopher://{CANARY}"}, ws)
    assert bad.exit_code == 2 and CANARY not in bad.stdout + bad.stderr
    good = _invoke(["latency", "sample", "--check-secrets"], {"FEED_HEALTH_URL": f"https://feed.test/{CANARY}"}, ws)
    assert good.exit_code == 0, good.stdout
    pulled = _invoke(
        ["inputs", "pull", "--check-secrets"],
        {"NOTIFIER_URL": f"https://notifier.test/{CANARY}", "NOTIFIER_AUTH": f"Bearer {CANARY}\r\nX: y"},
        ws,
    )
    verdicts = {s["name"]: (s["kind"], s["verdict"]) for s in json.loads(pulled.stdout)["secrets"]}
    assert verdicts["NOTIFIER_URL"] == ("http_url", "ok")
    assert verdicts["NOTIFIER_AUTH"] == ("header_value", "invalid")
    assert CANARY not in pulled.stdout + pulled.stderr
    (ws / "configs" / "observability" / "inputs.yaml").write_text("sources: [\n", encoding="utf-8")
    broken = _invoke(["inputs", "pull", "--check-secrets"], {}, ws)
    assert broken.exit_code == 2
    assert {s["name"]: s["verdict"] for s in json.loads(broken.stdout)["secrets"]}[
        "configs/observability/inputs.yaml"
    ] == "invalid"


# -- shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_good_value_passes_and_a_bad_one_is_invalid(name):
    need = next(n for j in jobs.JOBS for n in j.needs if n.name == name)
    good = secretcheck.check([need], environ={name: GOOD[name]})
    bad = secretcheck.check([need], environ={name: BAD[name]})
    assert [v.verdict for v in good.verdicts] == ["ok"], good.lines()
    assert [v.verdict for v in bad.verdicts] == ["invalid"], bad.lines()
    assert CANARY not in json.dumps(bad.as_dict()) + "\n".join(bad.lines())


def test_a_signing_key_must_decode_and_be_long_enough_each_one_of_a_rotation():
    need = jobs.Need("OBS_WEBHOOK_SECRET", "signing_key")
    short = "whsec_" + base64.b64encode(b"x" * 15).decode()
    assert secretcheck.check([need], environ={"OBS_WEBHOOK_SECRET": short}).verdicts[0].verdict == "invalid"
    pair = f"{'n' * 16} {short}"
    verdict = secretcheck.check([need], environ={"OBS_WEBHOOK_SECRET": pair}).verdicts[0]
    assert (verdict.verdict, verdict.reason) == ("invalid", "secret 2 of 2: key shorter than 16 bytes")


def test_an_s3_compatible_endpoint_accepts_its_own_key_shapes():
    needs = jobs.needs("sync")
    env = {"OBS_SYNC_TO": "s3://b/p", "AWS_ACCESS_KEY_ID": "minio", "AWS_SECRET_ACCESS_KEY": "minio-secret"}
    assert secretcheck.check(needs, environ=env).exit_code == 2
    assert secretcheck.check(needs, environ={**env, "OBS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}).exit_code == 0


def test_half_a_key_pair_is_missing_and_an_alternative_token_serves():
    needs = jobs.needs("sync")
    report = secretcheck.check(needs, environ={"OBS_SYNC_TO": "s3://b/p", "AWS_ACCESS_KEY_ID": "AKIA" + "Q" * 16})
    verdicts = {v.name: v.verdict for v in report.verdicts}
    assert verdicts["AWS_SECRET_ACCESS_KEY"] == "missing" and report.exit_code == 2
    alerts = secretcheck.check(
        jobs.needs("alerts"), environ={"GH_TOKEN": GOOD["GITHUB_TOKEN"], "GITHUB_REPOSITORY": "a/b"}
    )
    assert {v.name: v.verdict for v in alerts.verdicts}["GH_TOKEN"] == "ok"
    assert alerts.exit_code == 0


# -- the command line ---------------------------------------------------------------------------
def test_missing_secrets_exit_2_naming_them_and_a_dry_run_needs_none(tmp_path):
    ws = _workspace(tmp_path)
    result = _invoke(["weekly", "report", "--check-secrets"], {}, ws)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["status"] == "error"
    assert {s["name"]: s["verdict"] for s in doc["secrets"]} == {
        "OBS_WEEKLY_WEBHOOK_URL": "missing",
        "OBS_WEBHOOK_SECRET": "missing",
    }
    assert "check-secrets: OBS_WEBHOOK_SECRET: missing" in result.stderr
    dry = _invoke(["weekly", "report", "--dry-run", "--check-secrets"], {}, ws)
    assert dry.exit_code == 0, dry.stderr
    assert {s["verdict"] for s in json.loads(dry.stdout)["secrets"]} == {"not_set"}


def test_a_renamed_variable_is_checked_under_its_name(tmp_path):
    ws = _workspace(tmp_path)
    env = {"HOOK_B": GOOD["OBS_WEEKLY_WEBHOOK_URL"], "OBS_WEBHOOK_SECRET": GOOD["OBS_WEBHOOK_SECRET"]}
    result = _invoke(["weekly", "report", "--webhook-url-env", "HOOK_B", "--check-secrets"], env, ws)
    assert result.exit_code == 0, result.stderr
    assert [s["name"] for s in json.loads(result.stdout)["secrets"]] == ["HOOK_B", "OBS_WEBHOOK_SECRET"]


@pytest.mark.parametrize("values", [GOOD, BAD], ids=["good", "bad"])
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_no_value_is_printed_and_nothing_is_written(tmp_path, args, values):
    ws = _workspace(tmp_path)
    before = _tree(tmp_path)
    result = _invoke(
        [*args[:2], "--check-secrets", *args[2:]] if args[0] != "cycle" else ["cycle", "--check-secrets", *args[1:]],
        values,
        ws,
    )
    assert result.exit_code == (0 if values is GOOD else 2), result.stdout + result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert json.loads(result.stdout)["check"] == "secrets"
    assert _tree(tmp_path) == before, "the check wrote something"


def test_under_github_actions_only_mask_lines_carry_the_values(tmp_path):
    ws = _workspace(tmp_path)
    env = clean_env(**GOOD, GITHUB_ACTIONS="true", OBS_WORKSPACE=str(ws))
    proc = run_cli(["alerts", "sync", "--check-secrets"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert CANARY not in proc.stdout
    leaking = [line for line in proc.stderr.splitlines() if CANARY in line and not line.startswith("::add-mask::")]
    assert leaking == []
    assert any(line.startswith("::add-mask::") for line in proc.stderr.splitlines())
    assert not (ws / "ops" / "automation_runs.log").read_text(encoding="utf-8")


# -- online: the fake GitHub API ------------------------------------------------------------------
def _online(fake: FakeGitHub, ws: Path, token: str, **extra: str):
    env = {"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": fake.repo, "GITHUB_API_URL": fake.url, **extra}
    return _invoke(["alerts", "sync", "--check-secrets-online"], env, ws)


def _verdict(result, name="GITHUB_TOKEN"):
    return next(s for s in json.loads(result.stdout)["secrets"] if s["name"] == name)


def test_online_accepts_a_token_the_api_takes_and_says_it_reports_no_scopes(tmp_path):
    with FakeGitHub() as fake:
        result = _online(fake, _workspace(tmp_path), fake.token)
        assert fake.violations == []
        assert [r["path"] for r in fake.requests] == ["/repos/acme/ops/issues"]
    assert result.exit_code == 0, result.stderr
    assert _verdict(result)["verdict"] == "ok"
    assert "no scopes" in _verdict(result)["reason"]
    assert fake.token not in result.stdout + result.stderr


def test_online_rejects_a_token_the_api_refuses(tmp_path):
    other = "ghp_" + "Z" * 36
    with FakeGitHub() as fake:
        result = _online(fake, _workspace(tmp_path), other)
    assert result.exit_code == 2
    assert _verdict(result)["verdict"] == "rejected"
    assert other not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("scopes", "verdict"), [("read:org, gist", "rejected"), ("repo, read:org", "ok"), ("public_repo", "ok")]
)
def test_online_checks_the_scopes_a_classic_token_reports(tmp_path, scopes, verdict):
    with FakeGitHub() as fake:
        fake.oauth_scopes = scopes
        result = _online(fake, _workspace(tmp_path), fake.token)
    assert _verdict(result)["verdict"] == verdict
    assert result.exit_code == (0 if verdict == "ok" else 2)


def test_online_without_an_answer_is_unverified_exit_1(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {
        "GITHUB_TOKEN": GOOD["GITHUB_TOKEN"],
        "GITHUB_REPOSITORY": "acme/ops",
        "GITHUB_API_URL": f"http://127.0.0.1:{port}",
    }
    result = _invoke(["alerts", "sync", "--check-secrets-online"], env, _workspace(tmp_path))
    assert result.exit_code == 1
    assert _verdict(result)["verdict"] == "unverified"
    assert f"127.0.0.1:{port}" in _verdict(result)["reason"]  # which API did not answer
    assert CANARY not in result.stdout + result.stderr


def test_offline_never_calls_the_api(tmp_path):
    with FakeGitHub() as fake:
        env = {"GITHUB_TOKEN": fake.token, "GITHUB_REPOSITORY": fake.repo, "GITHUB_API_URL": fake.url}
        result = _invoke(["alerts", "sync", "--check-secrets"], env, _workspace(tmp_path))
        assert fake.requests == []
    assert _verdict(result) == {
        "kind": "github_token",
        "name": "GITHUB_TOKEN",
        "reason": "shape only",
        "required": "outward",
        "secret": True,
        "verdict": "ok",
    }


def test_verify_checks_what_its_storage_check_reads(tmp_path):
    """`verify --sync-to` reads the target URL, the .sig key and the S3 keys: a bad one is caught before the night."""
    ws = _workspace(tmp_path)
    env = {"OBS_SYNC_TO": BAD["OBS_SYNC_TO"], "OBS_WEBHOOK_SECRET": BAD["OBS_WEBHOOK_SECRET"]}
    result = _invoke(["verify", "--check-secrets"], {**env, "AWS_ACCESS_KEY_ID": GOOD["AWS_ACCESS_KEY_ID"]}, ws)
    assert result.exit_code == 2, result.stdout + result.stderr
    verdicts = {s["name"]: s["verdict"] for s in json.loads(result.stdout)["secrets"]}
    assert verdicts["OBS_SYNC_TO"] == "invalid"
    assert verdicts["OBS_WEBHOOK_SECRET"] == "invalid"
    assert verdicts["AWS_SECRET_ACCESS_KEY"] == "missing"  # half a key pair
    given = _invoke(["verify", "--sync-to", "ftp://elsewhere", "--check-secrets"], {}, ws)
    assert given.exit_code == 2
    assert {s["name"]: s["verdict"] for s in json.loads(given.stdout)["secrets"]}["OBS_SYNC_TO"] == "invalid"
    good = {k: GOOD[k] for k in ("OBS_SYNC_TO", "OBS_WEBHOOK_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert _invoke(["verify", "--check-secrets"], good, ws).exit_code == 0
