"""observability/plainyaml.py answers only where its answer equals ``yaml.safe_load``, and a job
reading a plain config does not import PyYAML (real processes)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from _support_coverage import untraced
from observability import plainyaml

ROOT = Path(__file__).resolve().parents[1]


def _same_or_declined(text: str) -> bool:
    """True when the reader answered (and then equals safe_load, types included)."""
    got = plainyaml.load(text)
    if got is plainyaml.DECLINED:
        return False
    want = untraced(yaml.safe_load, text)  # the reference, with coverage paused (_support_coverage)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True), text
    assert repr(got) == repr(want), text  # 1 vs 1.0 vs True, key order
    return True


def test_the_repository_configs_are_read_equally_and_the_latency_one_plainly():
    files = list(ROOT.glob("ops-template/**/*.yaml")) + list(ROOT.glob("configs/**/*.yaml"))
    answered = {path.name for path in files if _same_or_declined(path.read_text(encoding="utf-8"))}
    assert "latency_alert.yaml" in answered  # the 15-minute cycle's config: no PyYAML import


ANSWERED = [
    "",
    "# only a comment\n",
    "a: 1\n",
    "a: -2\nb: +3\nc: 0\n",
    "a: 0.25\nb: -1.5\n",
    "a: true\nb: False\nc: NULL\nd: ~\ne:\n",
    "a: []\nb: {}\n",
    "a: word\nb: two words here\nc: docs/runbook.md\nd: feed_0\ne: a-b (c)\n",
    "a: 'single#x'\nb: \"double\"\nc: ''\n",
    "a: 1   # comment\nb: x # c\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
    "l:\n- 1\n- two\n- 3.5\nm: 1\n",
    "l:\n  - a: 1\n    b: x\n  - a: 2\n",
    "probes:\n  - name: dukascopy\n    url_env: OBS_PROBE_URL\n    timeout_seconds: 10\n",
    "a: # nothing\nb: 1\n",
    "s:\n  - x\n  # comment inside\n  - w\n",
    "- 1\n- 2\n",
    "a: 1\n\n\nb: 2\n",
    "a:\n  - b:\n      c: 1\n    d: 2\n",
]

DECLINED = [
    "a: yes\n",
    "a: No\n",
    "a: on\n",
    "a: 010\n",
    "a: 0x1f\n",
    "a: 1_000\n",
    "a: 1:30\n",
    "a: 1e5\n",
    "a: .inf\n",
    "a: 2026-01-01\n",
    "a: [1, 2]\n",
    "a: {b: 1}\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: b: c\n",
    "a: http://x\n",
    "a: 'it''s'\n",
    'a: "esc\\n"\n',
    "a: 1\na: 2\n",
    "a:\tb\n",
    "a: caf\u00e9\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "a:\n  text\n  more\n",
    "  a: 1\n",
    "a: x#y\n",
    "a: 1\n  b: 2\n",
    "yes: 1\n",
    "<<: 1\n",
    "a:1\n",
    "a : 1\n",
    "? a\n: 1\n",
    "a: 'x' # c\n#\n- b\n",
    "a: -\n",
    "l:\n  -\n    1\n",
    "a: 'q # in quotes'\n",
    "l:\n  - - 1\n",
    "a: @x\n",
    "a: %x\n",
    "a: 1\r\n",
    'a: "x" y\n',
    "a: y\n",
]


@pytest.mark.parametrize("text", ANSWERED)
def test_plain_documents_are_answered_as_safe_load_does(text):
    assert _same_or_declined(text)


@pytest.mark.parametrize("text", DECLINED)
def test_anything_else_is_left_to_pyyaml(text):
    assert plainyaml.load(text) is plainyaml.DECLINED


def test_generated_documents_never_differ_from_safe_load():
    pieces = [
        "a",
        "b_c",
        "d-e",
        "null",
        "Null",
        "true",
        "TRUE",
        "yes",
        "0",
        "-1",
        "+7",
        "01",
        "0.5",
        "1.",
        ".5",
        "1e3",
        "x y",
        "x  y",
        "'q'",
        '"q"',
        "''",
        "[]",
        "{}",
        "~",
        "x # c",
        "x#c",
        "a/b.c",
        "é",
        "1:2",
        "-",
        "- x",
        "x:",
        "x: y",
        "#",
        "",
        "  ",
        "(p)",
        "@",
        "!x",
        "&a",
        "*a",
        "|",
        ">",
        "%",
        "?",
        ",",
        "[x]",
    ]
    rng = random.Random(11)
    answered = 0
    for _ in range(12000):
        lines = []
        for _ in range(rng.randint(1, 6)):
            indent = " " * rng.choice([0, 0, 0, 2, 2, 4, 1, 3])
            shape = rng.random()
            key = rng.choice(["k", "key", "a_b", "x-y", "n", "on", "K2"])
            if shape < 0.4:
                lines.append(f"{indent}{key}: {rng.choice(pieces)}")
            elif shape < 0.6:
                lines.append(f"{indent}{key}:")
            elif shape < 0.8:
                lines.append(f"{indent}- {rng.choice(pieces)}")
            elif shape < 0.9:
                lines.append(f"{indent}- {key}: {rng.choice(pieces)}")
            else:
                lines.append(f"{indent}# {rng.choice(pieces)}")
        text = "\n".join(lines) + rng.choice(["\n", ""])
        try:
            untraced(yaml.safe_load, text)
        except yaml.YAMLError:
            assert plainyaml.load(text) is plainyaml.DECLINED, text
            continue
        answered += _same_or_declined(text)
    assert answered > 500  # the generator reaches the answered shapes, not only declines


def test_a_latency_cycle_with_the_template_config_does_not_import_yaml(tmp_path):
    ws = tmp_path / "ws"
    (ws / "configs" / "observability").mkdir(parents=True)
    template = ROOT / "ops-template" / "configs" / "observability" / "latency_alert.yaml"
    (ws / "configs" / "observability" / "latency_alert.yaml").write_bytes(template.read_bytes())
    (ws / "logs").mkdir()
    (ws / "logs" / "notifier.csv").write_text("")
    code = (
        "import sys, runpy\n"
        "sys.argv = ['observability', 'latency', 'sample', '--workspace', sys.argv[1], '--input', 'logs/notifier.csv']\n"
        "try:\n    runpy.run_module('observability', run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print('YAML' if 'yaml' in sys.modules else 'NOYAML', code, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OBS_NOW": "2026-03-02T00:15:30Z"},
        cwd=ws,
    )
    assert done.stderr.strip().splitlines()[-1] in ("NOYAML 0", "NOYAML None"), done.stderr
    assert json.loads(done.stdout)["status"] in ("ok", "warning")
