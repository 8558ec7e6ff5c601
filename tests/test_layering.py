"""The import layering (.importlinter, docs/architecture.md "Layers"): CLI → cycle → jobs → runtime →
shared modules, jobs never importing each other, Click only in the CLI, no import cycles."""

from __future__ import annotations

import configparser
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / ".importlinter"
needs_import_linter = pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None, reason="import-linter is not installed (pip install -e '.[test]')"
)


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONTRACTS, encoding="utf-8")
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


@needs_import_linter
def test_the_import_contracts_hold():
    # lint-imports itself (its console script's entry, with this interpreter), as a developer or CI runs it:
    # every contract kept, or the broken imports listed.
    entry = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    done = subprocess.run(
        [sys.executable, "-c", entry, "--config", str(CONTRACTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


@needs_import_linter
def test_imports_inside_functions_are_in_the_graph():
    # The CLI imports each job inside its command function (start-up cost): the graph the contracts are
    # checked on must hold those imports, or a job importing another inside a function would go unseen.
    import grimp

    graph = grimp.build_graph("observability", cache_dir=None)
    assert graph.direct_import_exists(importer="observability.cli.alerts", imported="observability.alerts.job")
    assert graph.direct_import_exists(importer="observability.runtime", imported="observability.deadman")


def test_every_job_package_is_in_the_jobs_layer_and_the_independence_contract():
    parser = _contracts()
    layers = _lines(parser["importlinter:contract:layers"]["layers"])
    jobs_layer = next(layer for layer in layers if "|" in layer)
    in_layer = {name.strip() for name in jobs_layer.split("|")}
    independent = {m.removeprefix("observability.") for m in _lines(parser["importlinter:contract:jobs"]["modules"])}
    assert in_layer == independent
    # Every package holding a job (a job.py) is one of them.
    packages = {p.name for p in (ROOT / "observability").iterdir() if (p / "job.py").exists()}
    assert packages <= independent, sorted(packages - independent)


def test_the_layers_name_every_module_of_the_package():
    # Exhaustive: a new top-level module must be placed in a layer (import-linter checks this too, when installed).
    layers = _lines(_contracts()["importlinter:contract:layers"]["layers"])
    named = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    found = {p.stem for p in (ROOT / "observability").glob("*.py") if p.stem != "__init__"}
    found |= {p.name for p in (ROOT / "observability").iterdir() if (p / "__init__.py").exists()}
    assert found == named, {"not in a layer": sorted(found - named), "no such module": sorted(named - found)}
