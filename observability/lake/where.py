"""The ``--where`` and ``--order-by`` mini-languages of ``lake runs``: parsed, never pasted into SQL.

``--where`` is comparisons of a known column or metric with a literal (``sharpe > 2.0``,
``symbol = 'USDJPY'``, ``start_date >= '2024-10-01'``), combined with ``and``/``or``/``not`` and
parentheses. Each name is checked against the known ones; each literal becomes a query parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from observability.lake.query import LakeQueryError

OPERATORS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<date>\d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2})?)?)(?![\w:.-])
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_])
    | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<op><=|>=|<>|!=|==|=|<|>)
    | (?P<paren>[()])
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "true", "false", "null"}
MAX_DEPTH = 64  # nested parentheses and nots: deeper would exhaust Python's recursion (a crash, not exit 2)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int  # 1-based column in the expression


def tokens(text: str, option: str) -> list[Token]:
    found: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise LakeQueryError(f"{option}: cannot read {text[pos:].strip()[:20]!r} at column {pos + 1}")
        kind = match.lastgroup or ""
        found.append(Token(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    return found


def _unknown(name: str, known: Iterable[str], option: str) -> LakeQueryError:
    return LakeQueryError(f"{option}: unknown column {name!r}; known: {', '.join(sorted(known))}", column=name)


def _literal(token: Token) -> Any:
    if token.kind == "number":  # a whole number stays exact (float() rounds past 2**53)
        whole = re.fullmatch(r"[-+]?\d{1,38}", token.text)  # DuckDB's widest integer (HUGEINT) holds 38 digits
        return int(token.text) if whole else float(token.text)
    if token.kind == "date":  # an unquoted date: start_date >= 2024-10-01
        return token.text
    if token.kind == "string":
        quote = token.text[0]
        return token.text[1:-1].replace(quote * 2, quote)
    lowered = token.text.lower()
    return {"true": True, "false": False}[lowered]


class _Parser:
    def __init__(self, text: str, known: Iterable[str], option: str):
        self.option = option
        self.known = {k.lower(): k for k in known}
        self.toks = tokens(text, option)
        self.i = 0
        self.params: list[Any] = []
        self.depth = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok.kind == "name" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def fail(self, what: str) -> LakeQueryError:
        tok = self.peek()
        where = f"{tok.text!r} at column {tok.at}" if tok else "the end"
        return LakeQueryError(f"{self.option}: expected {what}, found {where}")

    def parse(self) -> str:
        if not self.toks:
            raise LakeQueryError(f"{self.option}: empty expression")
        sql = self.disjunction()
        if self.peek() is not None:
            raise self.fail("and, or or the end")
        return sql

    def disjunction(self) -> str:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.negation()]
        while self.keyword("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LakeQueryError(f"{self.option}: nested more than {MAX_DEPTH} deep (parentheses or not)")

    def negation(self) -> str:
        if self.keyword("not"):
            self.deeper()
            return f"(NOT {self.negation()})"
        tok = self.peek()
        if tok and tok.kind == "paren" and tok.text == "(":
            self.i += 1
            self.deeper()
            inner = self.disjunction()
            close = self.peek()
            if not (close and close.kind == "paren" and close.text == ")"):
                raise self.fail("')'")
            self.i += 1
            return inner
        return self.comparison()

    def column(self) -> str:
        tok = self.peek()
        if not tok or tok.kind != "name" or tok.text.lower() in KEYWORDS:
            raise self.fail("a column name")
        self.i += 1
        name = self.known.get(tok.text.lower())
        if name is None:
            raise _unknown(tok.text, self.known.values(), self.option)
        return name

    def comparison(self) -> str:
        name = self.column()
        tok = self.peek()
        if tok and tok.kind == "name" and tok.text.lower() == "is":
            self.i += 1
            negate = self.keyword("not")
            if not self.keyword("null"):
                raise self.fail("null")
            return f"({quote(name)} IS {'NOT ' if negate else ''}NULL)"
        if not tok or tok.kind != "op":
            raise self.fail("a comparison (=, !=, <, <=, >, >=)")
        self.i += 1
        value = self.peek()
        if not value or not (
            value.kind in ("number", "string", "date")
            or (value.kind == "name" and value.text.lower() in ("true", "false"))
        ):
            raise self.fail("a literal (a number, 'text' or true/false)")
        self.i += 1
        self.params.append(_literal(value))
        return f"({quote(name)} {OPERATORS[tok.text]} ?)"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compile_where(text: str, known: Iterable[str], option: str = "--where") -> tuple[str, list[Any]]:
    """``text`` as a SQL condition with ``?`` parameters, and the parameters; unknown names are refused."""
    parser = _Parser(text, known, option)
    return parser.parse(), parser.params


def compile_order(text: str, known: Iterable[str], option: str = "--order-by") -> str:
    """``sharpe desc, run_id`` as an ORDER BY list of known names (nulls last)."""
    names = {k.lower(): k for k in known}
    parts = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise LakeQueryError(f"{option}: expected 'name [asc|desc], ...', got {item.strip()!r}")
        name = names.get(words[0].lower())
        if name is None:
            raise _unknown(words[0], names.values(), option)
        direction = words[1].upper() if len(words) == 2 else "ASC"
        parts.append(f"{quote(name)} {direction} NULLS LAST")
    return ", ".join(parts)
