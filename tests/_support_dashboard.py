"""Shared helpers for the dashboard tests: a small synthetic workspace, CLI runs, bundle readers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from observability.cli import cli
from observability.outputs.rollups import HEADER as ROLLUP_HEADER

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or REPO.parent / "shared" / "fixtures" / "upstream")
NOW = "2026-01-08T00:07:00Z"
DATASETS = ("ev_history", "slippage", "turnover", "latency")
INDEX_HEADER = (
    "run_id,run_dir,manifest_id,timestamp,symbol,mode,equity,or_n,k_tp,k_sl,trades,wins,total_pips,"
    "sharpe,max_drawdown,win_rate,pnl_per_trade\n"
)
DAILY_HEADER = "date,breakouts,gate_pass,gate_block,ev_pass,ev_reject,fills,wins,pnl_pips\n"


def snapshot(alpha: float, beta: float, *, decay: float | None = 0.02, conf: float | None = 0.95) -> dict:
    ev = {"alpha": alpha, "beta": beta, "prior_alpha": 0.0, "prior_beta": 0.0}
    if decay is not None:
        ev["decay"] = decay
    if conf is not None:
        ev["conf"] = conf
    return {"meta": {"symbol": "USDJPY"}, "ev_global": ev}


def write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")


def write_state_archive(ws: Path) -> None:
    root = ws / "ops" / "state_archive"
    write_json(root / "day_orb_5m.DayORB5m/USDJPY/conservative/20260105_003000.json", snapshot(26.0, 24.0))
    write_json(root / "day_orb_5m.DayORB5m/USDJPY/conservative/20260106_003000_state.json", snapshot(27.0, 23.0))
    write_json(
        root / "strategies.day_orb_5m.DayORB5m/USDJPY/conservative/"
        "20260107_003000_USDJPY_conservative_20260107_093000.json",
        snapshot(28.0, 22.0),
    )
    write_json(root / "day_orb_5m/USDJPY/bridge/20260106_120000_state.json", snapshot(10.0, 12.0, conf=None))
    write_json(root / "grid_USDJPY_bridge_or4_ktp0.6_ksl0.4_20260104_120000_20260105_030000.json", snapshot(22.5, 20.3))


def write_runs(ws: Path) -> None:
    runs = ws / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "index.csv").write_text(
        INDEX_HEADER
        + "USDJPY_conservative_20260105_010000,runs/USDJPY_conservative_20260105_010000,,20260105_010000,USDJPY,"
        "conservative,100000.0,6,1.0,0.6,6,4.0,12.5,,,0.6666666666666666,2.08\n"
        + "grid_USDJPY_conservative_or4_ktp1.2_ksl0.4_20260105_020000,,,20260105_020000,USDJPY,conservative,"
        "100000.0,,,,30,12,-10.0,,,,\n"
        + "USDJPY_conservative_20260106_010000,runs/USDJPY_conservative_20260106_010000,,20260106_010000,USDJPY,"
        "conservative,100000.0,6,1.0,0.6,0,0.0,0.0,,,0.0,\n",
        encoding="utf-8",
    )
    first = runs / "USDJPY_conservative_20260105_010000"
    first.mkdir(exist_ok=True)
    # Dates with a time part, an inactive day, a drawdown from a positive peak.
    (first / "daily.csv").write_text(
        DAILY_HEADER
        + "2026-01-01 00:00:00,9,0,9,0,0,0,0,0.0\n"
        + "2026-01-02 00:00:00,20,5,15,3,2,3,2,10.0\n"
        + "2026-01-03 00:00:00,20,5,15,3,2,2,1,-4.0\n"
        + "2026-01-04 00:00:00,20,5,15,3,2,1,1,6.0\n",
        encoding="utf-8",
    )
    third = runs / "USDJPY_conservative_20260106_010000"
    third.mkdir(exist_ok=True)
    (third / "daily.csv").write_text(
        DAILY_HEADER + "2026-01-05,3,0,3,0,0,0,0,0.0\n2026-01-06,3,0,3,0,0,0,0,0.0\n", encoding="utf-8"
    )


def write_telemetry(ws: Path) -> None:
    write_json(
        ws / "reports/portfolio_samples/router_demo/telemetry.json",
        {
            "execution_health": {
                "day_orb_5m_v1": {"reject_rate": 0.012, "slippage_bps": 2.5, "fill_count": 140},
                "tokyo_micro_mean_reversion_v0": {"reject_rate": 0.032, "slippage_bps": 4.1},
            },
            "window_days": 7,
        },
    )


def write_rollup(ws: Path, hours: int = 3) -> None:
    lines = [ROLLUP_HEADER]
    for h in range(hours):
        for source in ("feed_a", "feed_b"):
            breach = source == "feed_b" and h > 0
            lines.append(
                f"2026-01-07T{h:02d}:00:00Z,{source},60,{6 if breach else 0},{0.1 if breach else 0:.4f},"
                f"1800.000,{130000.0 if breach else 2500.0:.3f},3000.000,3100.000,"
                f"{'true' if breach else 'false'},{h if breach else 0}\n"
            )
    path = ws / "ops" / "signal_latency_rollup.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def make_workspace(ws: Path) -> Path:
    write_state_archive(ws)
    write_runs(ws)
    write_telemetry(ws)
    write_rollup(ws)
    return ws


class Run:
    def __init__(self, exit_code: int, stdout: str, stderr: str):
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        try:
            self.summary = json.loads(stdout)
        except ValueError:
            self.summary = None

    def __repr__(self) -> str:
        return f"Run(exit={self.exit_code}, stderr={self.stderr[-2000:]!r}, stdout={self.stdout[-3000:]!r})"


def _env(now: str, env: dict | None) -> dict:
    environ = {
        "OBS_NOW": now,
        "GITHUB_ACTIONS": None,
        "OBS_WORKSPACE": None,
        "GITHUB_OUTPUT": None,
        "GITHUB_STEP_SUMMARY": None,
    }
    environ.update(env or {})
    return environ


def run(ws: Path, command: str, *args: str, now: str = NOW, env: dict | None = None) -> Run:
    """``observability dashboard COMMAND --workspace ws ARGS`` in-process with a fixed clock."""
    result = CliRunner().invoke(
        cli, ["dashboard", command, "--workspace", str(ws), *args], env=_env(now, env), catch_exceptions=True
    )
    return Run(result.exit_code, result.stdout, result.stderr)


def export(ws: Path, *args: str, now: str = NOW, env: dict | None = None) -> Run:
    return run(ws, "export", *args, now=now, env=env)


def verify(ws: Path, *args: str, now: str = NOW) -> Run:
    return run(ws, "verify", *args, now=now)


def spawn_export(ws: Path, *args: str, now: str = NOW) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "OBS_WORKSPACE")}
    env["OBS_NOW"] = now
    return subprocess.Popen(
        [sys.executable, "-m", "observability", "dashboard", "export", "--workspace", str(ws), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def bundle(ws: Path, name: str) -> dict:
    return json.loads((ws / "out" / "dashboard" / f"{name}.json").read_text(encoding="utf-8"))


def manifest(ws: Path) -> dict:
    return bundle(ws, "manifest")


def entry(ws: Path, name: str) -> dict:
    return {e["dataset"]: e for e in manifest(ws)["datasets"]}[name]


def heartbeat(ws: Path) -> dict:
    return json.loads((ws / "ops" / "dashboard_export_heartbeat.json").read_text(encoding="utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(name: str, document) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(document)]
    assert not errors, errors[:5]
