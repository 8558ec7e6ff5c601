"""The local Grafana stack (ops-template/ops/observability/, docs/grafana-guide.md), checked with the real
tools that install here (no Docker engine runs): `docker-compose config`, `promtool check config`; the
collector configuration and the dashboards against schemas (tests/data/stack/), and every reference
between the files (metric names and labels, datasource uids, hosts and ports, dataset columns)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from observability.resources import template_dir
from observability.state.selection import is_synced

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "ops-template" / "ops" / "observability"
DATA = Path(__file__).parent / "data" / "stack"
DASHBOARDS = sorted((STACK / "grafana" / "dashboards").glob("*.json"))
GUIDE = ROOT / "docs" / "grafana-guide.md"
UPSTREAM = Path(
    os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or ROOT.parent / "shared" / "fixtures" / "upstream"
)  # the upstream sample files (../shared next to the checkout)
SERVICES = {"otel-collector", "prometheus", "tempo", "loki", "readiness", "datasets", "grafana"}
# Images without a shell or wget (distroless or scratch): a probe inside them can never pass, so the
# `readiness` container probes them over the network.
DISTROLESS = ("otel/opentelemetry-collector-contrib", "grafana/tempo", "grafana/loki")


def _yaml(name: str):
    return yaml.safe_load((STACK / name).read_text(encoding="utf-8"))


def _metrics() -> dict[str, dict]:
    return {m["prometheus"]: m for m in _yaml("metrics.yaml")["metrics"]}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (Debian: apt-get install {'prometheus' if name == 'promtool' else name})")
    return path


# --- docker-compose.yml ------------------------------------------------------------------------------


def _compose_config(directory: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            _tool("docker-compose"),
            "--project-directory",
            str(directory),
            "-f",
            str(directory / "docker-compose.yml"),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(directory), **env},
    )


def test_compose_file_validates_with_docker_compose():
    result = _compose_config(STACK, GRAFANA_ADMIN_PASSWORD="a-chosen-password")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == SERVICES
    assert resolved["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "a-chosen-password"


def test_grafana_has_no_default_admin_password():
    """admin/admin on 127.0.0.1:3000 is an admin login for every local process and every web page the
    browser runs (Grafana's API takes basic auth): the stack refuses to start without a chosen one."""
    result = _compose_config(STACK)
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr, result.stderr


def test_docker_compose_refuses_a_broken_compose_file(tmp_path):
    """The check above can fail: a service with an unknown key is refused, naming it."""
    broken = _yaml("docker-compose.yml")
    broken["services"]["grafana"]["healthcheck"]["intervall"] = "10s"
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = _compose_config(tmp_path, GRAFANA_ADMIN_PASSWORD="a-chosen-password")
    assert result.returncode != 0 and "intervall" in result.stderr


def test_compose_images_are_pinned_ports_are_local_and_every_service_is_health_checked():
    compose = _yaml("docker-compose.yml")
    probed = " ".join(compose["services"]["readiness"]["healthcheck"]["test"])
    for name, service in compose["services"].items():
        image, _, tag = service["image"].partition(":")
        assert re.fullmatch(r"v?[0-9]+(\.[0-9]+){1,2}", tag), f"{name}: pin {image} by a version tag, not {tag!r}"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} binds beyond loopback (the stack has no auth)"
        if image in DISTROLESS:
            assert "healthcheck" not in service, f"{name}: {image} has no shell or wget; probe it from readiness"
            assert f"http://{name}:" in probed, f"{name}: not probed by the readiness container"
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    assert compose["services"]["grafana"]["depends_on"]["readiness"] == {"condition": "service_healthy"}


def test_every_mounted_config_file_exists():
    compose = _yaml("docker-compose.yml")
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (STACK / source).exists(), f"{name}: mounts {source}, which is not in the stack"


# --- prometheus.yml ----------------------------------------------------------------------------------


def test_prometheus_config_passes_promtool(tmp_path):
    promtool = _tool("promtool")
    good = subprocess.run([promtool, "check", "config", str(STACK / "prometheus.yml")], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "prometheus.yml"
    bad.write_text((STACK / "prometheus.yml").read_text().replace("scrape_interval: 15s", "scrape_interval: soon"))
    refused = subprocess.run([promtool, "check", "config", str(bad)], capture_output=True, text=True)
    assert refused.returncode != 0 and "soon" in refused.stdout + refused.stderr


def test_prometheus_scrapes_the_collectors_exporter_keeping_the_metrics_job_label():
    collector = _yaml("otel-collector.yaml")
    port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    (scrape,) = [s for s in _yaml("prometheus.yml")["scrape_configs"] if s["job_name"] == "otel-collector-exporter"]
    assert scrape["static_configs"][0]["targets"] == [f"otel-collector:{port}"]
    assert scrape["honor_labels"] is True


# --- otel-collector.yaml -----------------------------------------------------------------------------


def _collector_problems(config: dict) -> list[str]:
    """What the collector itself refuses at start: a pipeline naming an undefined component, a component
    defined and never used; and the schema's findings."""
    schema = json.loads((DATA / "otelcol_config.schema.json").read_text())
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(config)
    ]
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline, spec in config.get("service", {}).get("pipelines", {}).items():
        for kind in used:
            for component in spec.get(kind, []):
                used[kind].add(component)
                if component not in (config.get(kind) or {}):
                    problems.append(f"pipeline {pipeline}: {kind[:-1]} {component} is not defined")
    for kind, names in used.items():
        problems += [f"{kind[:-1]} {n} is defined and never used" for n in sorted(set(config.get(kind) or {}) - names)]
    for extension in config.get("service", {}).get("extensions", []):
        if extension not in (config.get("extensions") or {}):
            problems.append(f"extension {extension} is not defined")
    return problems


def test_collector_config_matches_its_schema_and_wires_every_signal():
    config = _yaml("otel-collector.yaml")
    assert _collector_problems(config) == []
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    pipelines = config["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlphttp/tempo"] and pipelines["logs"]["exporters"] == [
        "otlphttp/loki"
    ]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert all("otlp" in p["receivers"] for p in pipelines.values())
    assert config["exporters"]["otlphttp/tempo"]["endpoint"] == "http://tempo:4318"
    tempo = _yaml("tempo.yaml")
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    loki = _yaml("loki.yaml")
    assert config["exporters"]["otlphttp/loki"]["endpoint"] == f"http://loki:{loki['server']['http_listen_port']}/otlp"
    compose = _yaml("docker-compose.yml")
    assert "127.0.0.1:4318:4318" in compose["services"]["otel-collector"]["ports"]
    # Batch jobs: per-process cumulative points become one series across runs, stripped of the resource.
    steps = pipelines["metrics"]["processors"]
    assert steps.index("cumulativetodelta") < steps.index("transform/drop_resource") < steps.index("deltatocumulative")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["service"]["pipelines"]["traces"]["exporters"].append("otlp/jaeger"),
            "otlp/jaeger is not defined",
        ),
        (lambda c: c["processors"].__setitem__("batch/unused", {}), "batch/unused is defined and never used"),
        (lambda c: c["processors"]["batch"].__setitem__("timout", "5s"), "'timout' was unexpected"),
        (lambda c: c["receivers"]["otlp"]["protocols"]["http"].__setitem__("endpoint", "4318"), "does not match"),
    ],
)
def test_collector_check_refuses_broken_configs(change, expected):
    config = _yaml("otel-collector.yaml")
    change(config)
    assert any(expected in problem for problem in _collector_problems(config)), _collector_problems(config)


def test_the_automation_log_tail_reads_the_workspace_log_as_mounted():
    compose = _yaml("docker-compose.yml")
    (mount,) = [v for v in compose["services"]["otel-collector"]["volumes"] if v.startswith("../:")]
    inside = mount.split(":")[1]
    (path,) = _yaml("otel-collector.yaml")["receivers"]["filelog/automation_log"]["include"]
    assert path == f"{inside}/automation_runs.log"


# --- Grafana provisioning and dashboards -------------------------------------------------------------


def _datasources() -> dict[str, dict]:
    return {d["uid"]: d for d in _yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]}


def test_datasources_point_at_compose_services_on_their_ports():
    compose = _yaml("docker-compose.yml")
    listening = {
        "prometheus": 9090,
        "tempo": _yaml("tempo.yaml")["server"]["http_listen_port"],
        "loki": _yaml("loki.yaml")["server"]["http_listen_port"],
        "datasets": int(
            compose["services"]["datasets"]["command"][compose["services"]["datasets"]["command"].index("-p") + 1]
        ),
    }
    for uid, source in _datasources().items():
        host, port = re.fullmatch(r"http://([a-z-]+):([0-9]+)", source["url"]).groups()
        assert host in compose["services"] and listening[host] == int(port), uid
    plugin = compose["services"]["grafana"]["environment"]["GF_PLUGINS_PREINSTALL_SYNC"]
    assert plugin.split("@")[0] == _datasources()["obs-datasets"]["type"]


def test_dashboard_provider_reads_the_mounted_dashboards():
    (provider,) = _yaml("grafana/provisioning/dashboards/dashboards.yaml")["providers"]
    mounts = _yaml("docker-compose.yml")["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert {p.stem for p in DASHBOARDS} == {"signal-latency-slo", "job-health", "weekly-kpis", "ci-health"}


def _targets(dashboard: dict):
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield panel, target
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield variable, {"datasource": variable["datasource"], "expr": variable["query"]["query"]}


PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "sum", "max", "min", "avg", "count", "histogram_quantile", "increase", "rate", "max_over_time", "vector",
    "label_values", "time", "le", "inf",
}  # fmt: skip


def promql_problems(expr: str, metrics: dict[str, dict], variables: set[str]) -> list[str]:
    """Every metric and label a PromQL expression names, checked against the documented list."""
    problems = []
    known_labels = {label for m in metrics.values() for label in m["labels"]}
    series = {}
    for name, metric in metrics.items():
        suffixes = ("_bucket", "_sum", "_count") if metric["type"] == "histogram" else ("",)
        series.update({name + s: metric for s in suffixes})
    text = re.sub(r'"[^"]*"', '""', expr)  # label values and regexes are not names
    for label in re.findall(r"label_values\([^,]+,\s*(\w+)\s*\)", text):  # Grafana's variable query
        if label not in known_labels:
            problems.append(f"label {label}: not in metrics.yaml")
    text = re.sub(r"label_values\(([^,]+),\s*\w+\s*\)", r"\1", text)
    for variable in re.findall(r"\$([A-Za-z_]\w*)", text):
        if variable not in variables and not variable.startswith("__"):
            problems.append(f"${variable}: not a dashboard variable")
    text = re.sub(r"\$\w+|\[[^\]]*\]", " ", text)
    for labels in re.findall(r"\{([^}]*)\}", text):
        for label in re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", labels):
            if label not in known_labels:
                problems.append(f"label {label}: not in metrics.yaml")
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", text):
        for label in re.findall(r"[A-Za-z_]\w*", group):
            if label not in known_labels | {"le"}:
                problems.append(f"label {label}: not in metrics.yaml")
    bare = re.sub(r"\{[^}]*\}|\b(?:by|without)\s*\([^)]*\)", " ", text)
    for word in re.findall(r"[A-Za-z_:][\w:]*", bare):
        if word in PROMQL_WORDS or re.fullmatch(r"[0-9.e]+", word):
            continue
        if word not in series:
            problems.append(f"metric {word}: not in metrics.yaml")
    return problems


def test_promql_checker_catches_unknown_names():
    metrics = _metrics()
    assert (
        promql_problems(
            'sum by (job) (rate(observability_job_duration_seconds_count{status="error"}[5m]))', metrics, set()
        )
        == []
    )
    assert promql_problems("sum(observability_jobs_total)", metrics, set()) == [
        "metric observability_jobs_total: not in metrics.yaml"
    ]
    assert promql_problems('observability_latency_p95_ms{symbol="x"}', metrics, set()) == [
        "label symbol: not in metrics.yaml"
    ]
    assert promql_problems("max by (strategy) (observability_latency_p95_ms)", metrics, set()) == [
        "label strategy: not in metrics.yaml"
    ]
    assert promql_problems("observability_latency_p95_ms > $slo", metrics, set()) == ["$slo: not a dashboard variable"]
    assert promql_problems("label_values(observability_latency_p95_ms, site)", metrics, set()) == [
        "label site: not in metrics.yaml"
    ]


def _row_columns(path: str) -> set[str]:
    """The fields a served file's rows hold: the dashboard datasets' row schemas, the CI metrics entries."""
    schemas = ROOT / "schemas"
    if path.startswith("dashboard/"):
        schema = json.loads((schemas / f"dashboard_{Path(path).stem}_row.schema.json").read_text())
        return set(schema["properties"])
    assert path == "ci/ci_metrics.json", path
    entry = json.loads((schemas / "ci_metrics.schema.json").read_text())["$defs"]["entry"]["properties"]
    columns = set(entry)
    for key in ("coverage", "tests"):
        columns |= {f"{key}.{field}" for field in entry[key]["properties"]}
    return columns


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid_and_refers_only_to_what_exists(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((DATA / "grafana_dashboard.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(dashboard)
    assert path.stem == dashboard["uid"].removeprefix("obs-")
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    provisioned, metrics = _datasources(), _metrics()
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    served = {
        v.split(":")[1].removeprefix("/srv/") for v in _yaml("docker-compose.yml")["services"]["datasets"]["volumes"]
    }
    log_services = set(_yaml("otel-collector.yaml")["receivers"]["filelog/automation_log"]["resource"].values())
    for owner, target in _targets(dashboard):
        for source in (owner["datasource"], target["datasource"]):
            assert source["uid"] in provisioned and provisioned[source["uid"]]["type"] == source["type"], source
        kind = target["datasource"]["type"]
        if kind == "prometheus":
            assert promql_problems(target["expr"], metrics, variables) == [], (owner.get("title"), target["expr"])
        elif kind == "loki":
            for service in re.findall(r'service_name="([^"]+)"', target["expr"]):
                assert service in log_services, target["expr"]
        elif kind == "yesoreyeram-infinity-datasource":
            served_path = target["url"].removeprefix(provisioned["obs-datasets"]["url"] + "/")
            assert served_path.split("/")[0] in served, target["url"]
            columns = _row_columns(served_path)
            for column in target["columns"]:
                assert column["selector"] in columns, (owner["title"], column["selector"])


def test_missed_runs_panel_watches_exactly_the_jobs_scheduled_at_least_daily():
    # A 26 h window flags a weekly job six days out of seven: only jobs whose every cron fires daily belong.
    schedules = yaml.safe_load((ROOT / "ops-template" / "configs" / "observability" / "schedules.yaml").read_text())
    crons: dict[str, list[str]] = {}
    for entry in schedules["schedules"].values():
        crons.setdefault(entry["job"], []).append(entry["cron"])
    daily = {job for job, found in crons.items() if any(c.split()[2:] == ["*", "*", "*"] for c in found)}
    assert daily and "weekly" not in daily
    dashboard = json.loads((STACK / "grafana" / "dashboards" / "job-health.json").read_text())
    (panel,) = [p for p in dashboard["panels"] if p["title"].startswith("Missed runs")]
    (expr,) = [t["expr"] for t in panel["targets"]]
    watched = re.findall(r'job=~"([a-z|_]+)"', expr)
    assert len(watched) == 1 and set(watched[0].split("|")) == daily, expr


def test_metric_names_follow_the_otel_to_prometheus_rule_and_are_documented():
    """OTel name → Prometheus: `.` → `_`, the unit's suffix (s → seconds), `_total` on a counter."""
    units = {"s": "_seconds", "ms": "_milliseconds", "": ""}
    guide = GUIDE.read_text(encoding="utf-8")
    for name, metric in _metrics().items():
        expected = (
            metric["otel"].replace(".", "_") + units[metric["unit"]] + ("_total" if metric["type"] == "counter" else "")
        )
        assert name == expected, metric
        assert f"`{name}`" in guide and f"`{metric['otel']}`" in guide, f"{name}: not in docs/grafana-guide.md"


def test_the_jobs_emit_exactly_the_metrics_the_stack_queries():
    """observability/otel.py's instrument names, units and attributes are metrics.yaml's: a renamed
    metric or label on either side would leave a dashboard panel empty without an error anywhere."""
    from observability import otel

    emitted = {
        otel.JOB_DURATION: ("histogram", "s", {"job", "status"}),
        otel.SAMPLES_INGESTED: ("counter", "", {"job"}),
        otel.LATENCY_P95: ("gauge", "", {"source"}),
        otel.WEBHOOK_ATTEMPTS: ("counter", "", {"job", "outcome"}),
        otel.GITHUB_API_CALLS: ("counter", "", {"job", "method"}),
    }
    documented = {m["otel"]: (m["type"], m["unit"], set(m["labels"])) for m in _metrics().values()}
    assert documented == emitted


# --- the adopter's repository ------------------------------------------------------------------------


def test_the_stack_ships_in_the_package_template_and_is_never_state():
    assert (template_dir() / "ops" / "observability" / "docker-compose.yml").is_file()
    for path in STACK.rglob("*"):
        if path.is_file():
            rel = "ops/observability/" + path.relative_to(STACK).as_posix()
            assert not is_synced(rel), rel
    assert is_synced("ops/latency_state.json") and is_synced("ops/observability_notes.json")


@pytest.mark.parametrize("spelled", ["Observability", "OBSERVABILITY", "observabilitY"])
def test_the_stack_is_never_state_whatever_the_case_of_its_directory(spelled):
    """On a case-insensitive checkout (macOS, Windows) ops/Observability/ is ops/observability/: synced from
    a Linux runner, its files would be pulled over the repository's stack files."""
    assert not is_synced(f"ops/{spelled}/docker-compose.yml")


def test_inits_gitignore_keeps_the_state_out_and_the_stack_in(tmp_path):
    from observability.scaffold import scaffold

    git = shutil.which("git") or pytest.skip("git is not installed")
    target = tmp_path / "repo"
    subprocess.run([git, "init", "-q", str(target)], check=True)
    scaffold(target, repository="acme/observability", ref="0" * 40)
    (target / "ops" / "latency_state.json").write_text("{}\n")
    (target / "ops" / "ci").mkdir()
    (target / "ops" / "ci" / "ci_metrics.json").write_text("{}\n")
    status = subprocess.run(
        [git, "-C", str(target), "status", "--porcelain", "-uall", "ops"], capture_output=True, text=True, check=True
    )
    listed = {line[3:] for line in status.stdout.splitlines()}
    assert "ops/observability/docker-compose.yml" in listed
    assert "ops/observability/grafana/dashboards/job-health.json" in listed
    assert not [p for p in listed if not p.startswith("ops/observability/")], listed


@pytest.mark.skipif(not (UPSTREAM / "runs" / "index.csv").is_file(), reason=f"upstream fixtures not at {UPSTREAM}")
def test_the_guides_setup_commands_work_from_an_init_workspace(tmp_path):
    """grafana-guide.md's Setup block, run as written (Docker lines left out: no engine here) in a workspace
    `init` wrote holding upstream's files: every command succeeds and the stack's folder stays as written."""
    from observability.scaffold import scaffold

    ws = tmp_path / "ws"
    scaffold(ws, repository="acme/observability", ref="0" * 40)
    shutil.copytree(UPSTREAM / "runs", ws / "runs")
    shutil.copytree(UPSTREAM / "reports", ws / "reports")
    shutil.copytree(UPSTREAM / "ops" / "state_archive", ws / "ops" / "state_archive")
    (ws / "logs").mkdir()
    shutil.copy(UPSTREAM / "ops" / "signal_latency.csv", ws / "logs" / "signal_latency.csv")
    stack_before = sorted(p.relative_to(ws).as_posix() for p in (ws / "ops" / "observability").rglob("*"))
    guide = GUIDE.read_text(encoding="utf-8")
    block = re.search(r"## Setup\n.*?```sh\n(.*?)```", guide, re.S)
    assert block, "no sh block in the guide's Setup section"
    lines = [line for line in block[1].splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert any("docker" in line for line in lines) and any("observability " in line for line in lines)
    script = "set -e\n" + "\n".join(line for line in lines if not re.match(r"\s*docker", line)) + "\n"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBS_", "GITHUB_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OBS_NOW": "2025-10-01T00:00:00Z",
        "OBS_PROGRESS": "off",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "0.5",  # no collector here: one warning line, the job goes on
    }
    done = subprocess.run(["bash", "-c", script], cwd=ws, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (ws / "out" / "dashboard" / "manifest.json").is_file() and (ws / "ops" / "ci").is_dir()
    assert sorted(p.relative_to(ws).as_posix() for p in (ws / "ops" / "observability").rglob("*")) == stack_before


def test_verify_and_log_rebuild_do_not_trip_over_the_stack(tmp_path):
    """A workspace holding ops/observability/ verifies and rebuilds exactly as one without it."""
    from _support_verify import NOW, add_run, new_workspace, run_cli, verify

    results = []
    for name in ("bare", "with-stack"):
        root = new_workspace(tmp_path / name)
        for hours in (30, 6, 2):
            add_run(root, "latency", NOW - timedelta(hours=hours))
        add_run(root, "dashboard", NOW - timedelta(hours=5), status="error")
        if name == "with-stack":
            shutil.copytree(STACK, root / "ops" / "observability")
        checked, rebuilt = verify(root), run_cli(root, "log", "rebuild", "--dry-run")
        assert checked.exit_code == 0 and rebuilt.exit_code == 0, checked.stderr + rebuilt.stderr
        # The same findings, checks and plans; only the random part of each job id and the timings differ.
        for run in (checked, rebuilt):
            results.append(
                re.sub(r"(-[a-z_]+-)[0-9a-f]{8}\b", r"\1x", json.dumps(_untimed(run.summary), sort_keys=True))
            )
    assert results[:2] == results[2:]


def _untimed(value):
    """A summary without its timings (durations, lock waits, the generation time), at any depth."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not re.search(r"(_ms|_seconds|^generated_at)$", k)}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def test_no_unauthenticated_admin_endpoints_are_switched_on():
    """Prometheus's lifecycle (POST /-/quit, /-/reload) and admin APIs (delete series) take no
    credentials: on a loopback port any web page the browser opens can post to them."""
    compose = _yaml("docker-compose.yml")
    flags = " ".join(str(arg) for service in compose["services"].values() for arg in service.get("command", []))
    assert "--web.enable-lifecycle" not in flags and "--web.enable-admin-api" not in flags
