"""A scheduled latency run as a fresh runner does it, and the install that precedes it.

1. State cycle: ``state pull`` + ``latency sample`` + ``state push`` as three separate processes
   (interpreter start-up and imports included) into an empty runner workspace (configs and the
   notifier log only, as after a checkout), against a moto S3 server on 127.0.0.1 that holds the
   nominal state (bench/generate.py: 10 sources x 1 sample/min, 14 days raw, 90 days of rollups, the
   archives). Each repetition gets its own bucket seeded with that state (seeding is not timed), so
   every timed cycle pulls the whole snapshot, ingests the same 150 samples and pushes the result.
   One warm-up, then --repeat runs; medians reported. Target: the three together <= 2 s.
2. Install: a new venv, then ``pip install --no-index --find-links <wheelhouse>`` of the locked
   dependencies (actions/_lib/requirements.txt, hash-checked, as actions/_lib/install.sh does) and
   of the package wheel. The wheelhouse (bench/.data/wheelhouse) is built once with ``pip download``
   and ``pip wheel``: a warm wheel cache, no network during the timed runs.

Usage: python bench/state_cycle.py [--repeat N] [--install-repeat N] [--no-install]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PY = sys.executable
SCRATCH = generate.DATA / "state_cycle"
WHEELHOUSE = generate.DATA / "wheelhouse"
REQUIREMENTS = ROOT / "actions" / "_lib" / "requirements.txt"
TARGET_CYCLE_S = 2.0
SECRET = "bench-secret-key"


def _env(endpoint: str) -> dict[str, str]:
    env = generate.clean_env(generate.TIMED_NOW)
    env.update(generate.moto_s3_env(endpoint, SECRET))
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def _obs(args: list[str], workspace: Path, env: dict[str, str], ok=("ok", "warning")) -> tuple[float, dict]:
    cmd = [PY, "-m", "observability", *args, "--workspace", str(workspace)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=workspace)
    elapsed = time.perf_counter() - t0
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = {}
    if done.returncode != 0 or summary.get("status") not in ok:
        raise SystemExit(
            f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return elapsed, summary


def _runner_workspace(nominal: Path, path: Path) -> Path:
    """What a runner has after checkout: configs and the notifier log, no ops/ (that is in the store)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    for part in ("configs", "logs"):
        shutil.copytree(nominal / part, path / part)
    return path


def _seed(nominal: Path, store: str, env: dict[str, str]) -> dict:
    seed = SCRATCH / "seed"
    shutil.rmtree(seed, ignore_errors=True)
    shutil.copytree(nominal, seed)
    _obs(["state", "init", "--store", store], seed, env)
    _obs(["state", "pull", "--store", store], seed, env)
    _, summary = _obs(["state", "push", "--store", store], seed, env)
    return summary


def state_cycle(repeat: int) -> dict:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    nominal = generate.ensure()["nominal"]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = _env(endpoint)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key=SECRET,
        )
        rows = []
        seeded = None
        for i in range(repeat + 1):  # run 0 warms the page cache and the .pyc files
            bucket = f"bench-state-{i}"
            client.create_bucket(Bucket=bucket)
            store = f"s3://{bucket}/state"
            seeded = _seed(nominal, store, env)
            ws = _runner_workspace(nominal, SCRATCH / "runner")
            t_pull, pulled = _obs(["state", "pull", "--store", store], ws, env)
            t_sample, sampled = _obs(
                ["latency", "sample", "--input", generate.LOG, *generate.TIMED_FLAGS["nominal"]], ws, env
            )
            t_push, pushed = _obs(["state", "push", "--store", store], ws, env)
            if sampled["samples_written"] != generate.TIMED_SAMPLES:
                raise SystemExit(
                    f"latency sample wrote {sampled['samples_written']} samples, expected "
                    f"{generate.TIMED_SAMPLES}: the pulled cursor is wrong"
                )
            if i:
                rows.append(
                    {
                        "pull": t_pull,
                        "sample": t_sample,
                        "push": t_push,
                        "total": t_pull + t_sample + t_push,
                        "pulled_bytes": pulled["bytes_downloaded"],
                        "pushed_bytes": pushed["bytes_uploaded"],
                        "files": pulled["files"],
                    }
                )
        return {"rows": rows, "snapshot_files": seeded["files"] if seeded else None}
    finally:
        server.stop()
        shutil.rmtree(SCRATCH, ignore_errors=True)


def _wheelhouse() -> float:
    """Build the wheelhouse once (not timed against the target); returns how long it took."""
    marker = WHEELHOUSE / ".complete"
    if marker.exists() and marker.read_text() == _wheelhouse_key():
        return 0.0
    t0 = time.perf_counter()
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    WHEELHOUSE.mkdir(parents=True)
    pip = [PY, "-m", "pip", "--disable-pip-version-check", "-q"]
    _quiet([*pip, "download", "--no-deps", "-r", str(REQUIREMENTS), "-d", str(WHEELHOUSE)])
    # The build backend (hatchling) is one of the locked requirements, so the wheel builds offline.
    _quiet(
        [*pip, "wheel", "--no-deps", "--no-index", "--find-links", str(WHEELHOUSE), "-w", str(WHEELHOUSE), str(ROOT)]
    )
    marker.write_text(_wheelhouse_key())
    return time.perf_counter() - t0


def _quiet(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _wheelhouse_key() -> str:
    import hashlib

    return hashlib.sha256(REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()


def install(repeat: int) -> dict:
    built = _wheelhouse()
    rows = []
    base = SCRATCH / "venvs"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_NO_INPUT"] = "1"
    try:
        for i in range(repeat + 1):
            venv = base / f"v{i}"
            shutil.rmtree(venv, ignore_errors=True)
            t0 = time.perf_counter()
            _quiet([PY, "-m", "venv", str(venv)], env)
            t1 = time.perf_counter()
            pip = [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "--disable-pip-version-check",
                "-q",
                "install",
                "--no-index",
                "--find-links",
                str(WHEELHOUSE),
            ]
            _quiet([*pip, "--require-hashes", "--no-deps", "-r", str(REQUIREMENTS)], env)
            t2 = time.perf_counter()
            _quiet([*pip, "--no-deps", "observability"], env)
            t3 = time.perf_counter()
            version = subprocess.run(
                [str(venv / "bin" / "observability"), "--version"], check=True, env=env, capture_output=True, text=True
            ).stdout.strip()
            t4 = time.perf_counter()
            if i:
                rows.append(
                    {
                        "venv": t1 - t0,
                        "deps": t2 - t1,
                        "package": t3 - t2,
                        "first_run": t4 - t3,
                        "total": t3 - t0,
                        "version": version,
                    }
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "rows": rows,
        "wheelhouse_build_s": built,
        "wheels": len([p for p in WHEELHOUSE.iterdir() if p.suffix == ".whl"]),
    }


def _median(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows]
    return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed state cycles (after one warm-up)")
    parser.add_argument("--install-repeat", type=int, default=3, help="timed installs (after one warm-up)")
    parser.add_argument("--no-install", action="store_true", help="skip the install benchmark")
    args = parser.parse_args()

    cycle = state_cycle(args.repeat)
    rows = cycle["rows"]
    total = statistics.median(r["total"] for r in rows)
    print(
        f"\nState cycle against moto S3 on 127.0.0.1, nominal volume ({cycle['snapshot_files']} files in the "
        f"snapshot, {rows[0]['pulled_bytes'] / 2**20:.1f} MiB pulled, {rows[0]['pushed_bytes'] / 2**20:.2f} MiB "
        f"pushed), median of {len(rows)} (min–max):\n"
    )
    print("| step | time |\n| --- | --- |")
    for key, name in (
        ("pull", "state pull"),
        ("sample", "latency sample (150 samples)"),
        ("push", "state push"),
        ("total", "**all three**"),
    ):
        print(f"| {name} | {_median(rows, key)} |")
    verdict = "meets" if total <= TARGET_CYCLE_S else "MISSES"
    print(f"\nTarget <= {TARGET_CYCLE_S:.1f} s for the three: {verdict} ({total:.3f} s)")

    if not args.no_install:
        inst = install(args.install_repeat)
        rows = inst["rows"]
        print(
            f"\nInstall into a new venv from a warm wheelhouse ({inst['wheels']} wheels, --no-index), median of "
            f"{len(rows)} (min–max):\n"
        )
        print("| step | time |\n| --- | --- |")
        for key, name in (
            ("venv", "python -m venv"),
            ("deps", "pip install -r requirements.txt (hashes)"),
            ("package", "pip install observability (wheel)"),
            ("total", "**venv + install**"),
            ("first_run", "first `observability --version`"),
        ):
            print(f"| {name} | {_median(rows, key)} |")
        if inst["wheelhouse_build_s"]:
            print(f"\n(wheelhouse built once in {inst['wheelhouse_build_s']:.1f} s, not part of the figures)")
    print(f"\nPython {sys.version.split()[0]} on {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
