"""The compiled schema checks (observability/schemacheck.py) agree with jsonschema.

``schemas.errors`` trusts a document the compiled check accepts without asking jsonschema, so the
check must never accept what jsonschema rejects. Corpus: documents generated from every bundled
schema (mostly valid, then corrupted one field at a time), the template configs and every one-field
mutation of them, and hand-picked edge cases of jsonschema's semantics. Each verdict must equal
jsonschema's (stricter would only cost speed, but equal is what we claim).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from _support_coverage import measured_only_if, untraced
from observability import schemas
from observability.schemacheck import compile_schema, equal

ROOT = Path(__file__).resolve().parent.parent
NAMES = sorted(p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.schema.json"))
TEMPLATES = {
    "automation.yaml": "automation_config",
    "inputs.yaml": "inputs_config",
    "latency_alert.yaml": "latency_config",
    "schedules.yaml": "verify_schedules",
    "weekly_report.yaml": "weekly_config",
}

# Values a corruption puts in place of a field: every JSON type, boundaries and format near-misses.
ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.5,
    -0.5,
    1.0,
    1e300,
    "",
    "x",
    "a" * 300,
    "2026-02-30",
    "2026-01-01T00:00:00Z",
    "2026-01-01",
    "t",
    [],
    [1],
    ["x", "x"],
    {},
    {"x": 1},
    "ZZ",
    "[",
    "ok",
    "../etc",
    "https://example.com",
    "AKIA",
    10**6,
    2**63,
    "2026-01-01t00:00:00z",
]


# How many of a schema's 120 seeds coverage measures (the lines they reach are all the others reach:
# tests/test_schemacheck.py's share of the coverage report is the same with every seed measured).
MEASURED_SEEDS = 12


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load_schema(name), format_checker=FormatChecker())


def jsonschema_valid(name: str, doc) -> bool:
    # The oracle runs with coverage paused (_support_coverage: about half this file's time under --cov).
    check = validator(name)
    return untraced(lambda: not any(True for _ in check.iter_errors(doc)))


class Generator:
    """Random documents shaped by a schema: valid most of the time, with the odd value mixed in."""

    def __init__(self, root: dict, rng: random.Random, odd: float):
        self.root, self.rng, self.odd = root, rng, odd

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            target = self.root
            for part in schema["$ref"][2:].split("/"):
                target = target[part]
            schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        return schema

    def make(self, schema, depth: int = 0):
        rng = self.rng
        if rng.random() < self.odd or depth > 8:
            return copy.deepcopy(rng.choice(ODD_VALUES))
        schema = self.resolve(schema)
        if schema is True or not isinstance(schema, dict):
            return rng.choice(ODD_VALUES)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branch = rng.choice(schema[key])
                rest = {k: v for k, v in schema.items() if k != key}
                return self.make({**rest, **self.resolve(branch)} if isinstance(branch, dict) else rest, depth + 1)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(rng.choice(schema["enum"]))
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind is None:
            kind = "object" if "properties" in schema else rng.choice(["string", "integer", "null"])
        if kind == "object":
            props = schema.get("properties", {})
            required = set(schema.get("required", ()))
            doc = {k: self.make(s, depth + 1) for k, s in props.items() if k in required or rng.random() < 0.6}
            extra = schema.get("additionalProperties", True)
            names = self.resolve(schema.get("propertyNames", {}))
            if extra is not False and isinstance(extra, dict) and rng.random() < 0.7:
                for i in range(max(schema.get("minProperties", 0), rng.randint(1, 3))):
                    if "enum" in names:
                        key = rng.choice(names["enum"])
                    else:
                        key = self.string(names) if names.get("pattern") else f"k{i}"
                    doc[key] = self.make(extra, depth + 1)
            if len(doc) < schema.get("minProperties", 0) and "enum" in names:
                doc[names["enum"][0]] = self.make(extra, depth + 1)
            return doc
        if kind == "array":
            n = max(schema.get("minItems", 0), rng.randint(0, 3))
            items = [self.make(schema.get("items", {}), depth + 1) for _ in range(n)]
            if schema.get("uniqueItems"):
                items = [x for i, x in enumerate(items) if not any(equal(x, y) for y in items[:i])]
            return items
        if kind == "string":
            return self.string(schema)
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", -5))
            high = schema.get("maximum", schema.get("exclusiveMaximum", low + 1000))
            value = rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                value += 1
            return value + (0.25 if kind == "number" and rng.random() < 0.5 and value + 0.25 <= high else 0)
        if kind == "boolean":
            return rng.random() < 0.5
        return None

    def string(self, schema: dict) -> str:
        # Shapes our patterns and formats describe; the first that fits (or any, making a bad document).
        candidates = [
            "2026-03-02T00:00:00Z",
            "2026-03-02T00:15:30.123+09:00",
            "2024-02-29T23:59:59Z",
            "2026-03-02",
            "feed_1",
            "a",
            "ops/x.csv",
            "ops/x.csv.gz",
            "0" * 64,
            "owner/repo",
            "https://example.com/x",
            "latency",
            "sha256:" + "0" * 64,
            "0123456789abcdef",
            "feed_1.csv",
            "^feed_[0-9]+$",
            "20260302T001530Z-latency-75983db5",
            "A_B",
            "x.y",
            "s" * 40,
            "weekly/2026-03-02/",
            "dashboard/2026-03-02/",
            "dashboard/2026-03-02/20260302T001530Z-dashboard-1/",
        ]
        sub = tuple((k, schema[k]) for k in ("pattern", "format", "minLength", "maxLength") if k in schema)
        return self.rng.choice(_fitting(tuple(candidates), sub) or candidates)


@functools.cache
def _fitting(candidates: tuple[str, ...], sub: tuple[tuple[str, object], ...]) -> list[str]:
    """The candidates a string schema with these keywords accepts (a string schema recurs thousands of
    times across the generated corpus: one verdict each, not one validator per generated string)."""
    check = Draft202012Validator({"type": "string", **dict(sub)}, format_checker=FormatChecker())
    return [c for c in candidates if check.is_valid(c)]


def mutations(doc, rng: random.Random | None = None, limit: int | None = None):
    """Documents made from ``doc`` by deleting one key, adding one or changing one value: every one,
    or ``limit`` of them picked at random (big documents have thousands)."""
    if rng is not None:
        every = list(_mutation_makers(doc))
        for make in rng.sample(every, min(limit or len(every), len(every))):
            yield make()
        return
    for make in _mutation_makers(doc):
        yield make()


def _mutation_makers(doc):
    def walk(node, path):
        yield path, node
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, path + [i])

    def replaced(path, value):
        # A new document that shares what the change leaves alone (nothing here changes a document in
        # place): only the containers along the path are copied, not the whole document per mutation.
        if not path:
            return value
        out = copy.copy(doc)
        node = out
        for p in path[:-1]:
            node[p] = copy.copy(node[p])
            node = node[p]
        node[path[-1]] = value
        return out

    def without(node, key):
        smaller = copy.copy(node)
        del smaller[key]
        return smaller

    for path, node in list(walk(doc, [])):
        for value in ODD_VALUES[::3]:
            yield lambda path=path, value=value: replaced(path, copy.deepcopy(value))
        if isinstance(node, dict):
            for k in list(node)[:8]:
                yield lambda path=path, node=node, k=k: replaced(path, without(node, k))
            yield lambda path=path, node=node: replaced(path, {**node, "unexpected_key": 1})


@pytest.mark.parametrize("name", NAMES)
def test_every_bundled_schema_compiles(name):
    # Otherwise that schema silently loses the fast path (jsonschema on every run).
    assert schemas.fast_check(name) is not None


@pytest.mark.parametrize("name", NAMES)
def test_generated_documents_get_jsonschemas_verdict(name):
    schema = schemas.load_schema(name)
    check = compile_schema(schema)
    verdicts = {True: 0, False: 0}
    for seed in range(120):
        # Under --cov the first seeds are measured, the rest checked unmeasured (_support_coverage).
        with measured_only_if(seed < MEASURED_SEEDS):
            rng = random.Random(f"{name}-{seed}")
            doc = Generator(schema, rng, odd=0.0 if seed % 3 == 0 else 0.04).make(schema)
            for candidate in [doc, *mutations(doc, rng, 20)]:
                expected = jsonschema_valid(name, candidate)
                assert check(candidate) is expected, (name, json.dumps(candidate, default=str)[:400])
                verdicts[expected] += 1
    # The corpus must hold both kinds, or agreement proves little.
    assert verdicts[False] > 50, verdicts
    assert verdicts[True] > 0, verdicts


@pytest.mark.parametrize("filename", sorted(TEMPLATES))
def test_template_configs_and_their_mutations_get_jsonschemas_verdict(filename):
    name = TEMPLATES[filename]
    doc = yaml.safe_load((ROOT / "ops-template" / "configs" / "observability" / filename).read_text())
    check = compile_schema(schemas.load_schema(name))
    assert check(doc) is True and jsonschema_valid(name, doc)
    bad = 0
    for candidate in mutations(doc):
        expected = jsonschema_valid(name, candidate)
        assert check(candidate) is expected, (name, candidate)
        bad += not expected
    assert bad > 10


def schema_doc(**extra):
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **extra}


@pytest.mark.parametrize(
    "schema, doc",
    [
        (schema_doc(enum=[1, "a"]), True),
        (schema_doc(enum=[1, "a"]), 1.0),
        (schema_doc(const=False), 0),
        (schema_doc(const=[1, {"a": True}]), [1.0, {"a": True}]),
        (schema_doc(const=[1, {"a": True}]), [1.0, {"a": 1}]),
        (schema_doc(type="integer"), 3.0),
        (schema_doc(type="integer"), 3.5),
        (schema_doc(type="integer"), True),
        (schema_doc(type="number"), float("nan")),
        (schema_doc(type="number", minimum=0), float("nan")),
        (schema_doc(type="number", maximum=10), float("inf")),
        (schema_doc(type="array"), (1, 2)),
        (schema_doc(uniqueItems=True), [1, True]),
        (schema_doc(uniqueItems=True), [1, 1.0]),
        (schema_doc(uniqueItems=True), [{"a": 1}, {"a": 1.0}]),
        (schema_doc(format="date-time"), "2024-02-29T23:59:60Z"),
        (schema_doc(format="date-time"), "2023-02-29T00:00:00Z"),
        (schema_doc(format="date-time"), "2026-01-01t00:00:00z"),
        (schema_doc(format="date-time"), "2026-01-01T00:00:00Z\n"),
        (schema_doc(format="date-time"), "0000-01-01T00:00:00Z"),
        (schema_doc(format="date-time"), "2026-01-01T00:00:00"),
        (schema_doc(format="date-time"), "２０２６-01-01T00:00:00Z"),
        (schema_doc(format="date"), "2026-02-29"),
        (schema_doc(format="date"), "2026-1-01"),
        (schema_doc(format="date"), "２０２６-01-01"),
        (schema_doc(format="regex"), "(unclosed"),
        (schema_doc(format="date-time"), 5),
        (schema_doc(minLength=2), "é"),
        (schema_doc(minLength=2), 5),
        (schema_doc(pattern="^a"), ["a"]),
        (schema_doc(required=["a"]), []),
        (schema_doc(properties={"a": {"type": "string"}}, additionalProperties=False), {"a": "x", "b": 1}),
        (schema_doc(additionalProperties={"type": "integer"}, properties={"a": {}}), {"a": "x", "b": 1}),
        (schema_doc(additionalProperties={"type": "integer"}), {"b": "1"}),
        (schema_doc(propertyNames={"pattern": "^[a-z]+$"}), {"ok": 1, "NO": 2}),
        # patternProperties (unanchored search, every matching pattern applies) and what stays "additional"
        (schema_doc(patternProperties={"^s:": {"type": "integer"}}, additionalProperties=False), {"s:x": 1}),
        (schema_doc(patternProperties={"^s:": {"type": "integer"}}, additionalProperties=False), {"s:x": "1"}),
        (schema_doc(patternProperties={"^s:": {}}, additionalProperties=False), {"t:x": 1}),
        (schema_doc(patternProperties={"b": {"type": "integer"}}), {"abc": "x"}),
        (schema_doc(patternProperties={"a": {"minimum": 2}, "b": {"maximum": 3}}), {"ab": 4}),
        (
            schema_doc(
                properties={"a": {"type": "string"}},
                patternProperties={"^a": {"minLength": 2}},
                additionalProperties={"type": "integer"},
            ),
            {"a": "x", "z": 1},
        ),
        (
            schema_doc(patternProperties={"^s:": {}}, additionalProperties={"type": "integer"}),
            {"s:a": "x", "z": 1},
        ),
        (schema_doc(oneOf=[{"type": "integer"}, {"type": "number"}]), 1),
        (schema_doc(oneOf=[{"type": "integer"}, {"type": "number"}]), 1.5),
        (schema_doc(anyOf=[{"minimum": 5}, {"type": "string"}]), 3),
        (schema_doc(**{"not": {"type": "null"}}), None),
        (schema_doc(minProperties=1), {}),
        (schema_doc(minItems=1, items={"type": "string"}), ["a", 1]),
        (schema_doc(**{"$defs": {"n": {"type": "integer", "minimum": 0}}, "$ref": "#/$defs/n", "maximum": 3}), 4),
        (
            schema_doc(
                **{
                    "$defs": {"t": {"type": ["object", "null"], "properties": {"next": {"$ref": "#/$defs/t"}}}},
                    "$ref": "#/$defs/t",
                }
            ),
            {"next": {"next": {"next": 1}}},
        ),
        (
            schema_doc(
                **{
                    "$defs": {"t": {"type": ["object", "null"], "properties": {"next": {"$ref": "#/$defs/t"}}}},
                    "$ref": "#/$defs/t",
                }
            ),
            {"next": {"next": None}},
        ),
    ],
)
def test_edge_cases_get_jsonschemas_verdict(schema, doc):
    check = compile_schema(schema)
    assert check is not None
    expected = not any(True for _ in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(doc))
    assert check(doc) is expected


@pytest.mark.parametrize(
    "schema",
    [
        schema_doc(dependentRequired={"a": ["b"]}),
        schema_doc(prefixItems=[{}]),
        schema_doc(**{"if": {}, "then": {}}),
        schema_doc(format="email"),
        schema_doc(**{"$ref": "other.json"}),
        schema_doc(unevaluatedProperties=False),
        schema_doc(contains={"type": "string"}),
    ],
)
def test_what_the_compiler_does_not_know_is_left_to_jsonschema(schema):
    assert compile_schema(schema) is None


def test_a_failing_document_still_gets_jsonschemas_message():
    problems = schemas.errors("alert_item", {"rule": 5})
    assert problems and all(isinstance(message, str) for _, message in problems)
    assert problems == sorted(
        (
            (list(e.absolute_path), e.message)
            for e in Draft202012Validator(
                schemas.load_schema("alert_item"), format_checker=FormatChecker()
            ).iter_errors({"rule": 5})
        ),
        key=lambda item: (schemas.json_path(item[0]), item[1]),
    )


def test_validating_a_good_document_does_not_import_jsonschema():
    code = (
        "import sys, yaml\n"
        "from observability import schemas\n"
        f"doc = yaml.safe_load(open({str(ROOT / 'ops-template/configs/observability/latency_alert.yaml')!r}))\n"
        "assert schemas.errors('latency_config', doc) == []\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema was imported'\n"
        "assert schemas.errors('latency_config', {'nope': 1})\n"
        "assert 'jsonschema' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
