"""The credentials register: configs/observability/credentials.yaml (docs/credentials.md).

Who owns each secret, its rotation policy and the next rotation date per GitHub environment;
``overdue`` lists what is past its date for verify's rotation alert. It never holds a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from observability.config import load_yaml
from observability.errors import ConfigError

CREDENTIALS_CONFIG = "configs/observability/credentials.yaml"


@dataclass(frozen=True)
class Credential:
    name: str
    owner: str
    rotate_every_days: int
    rotate_by: tuple[tuple[str, date], ...] = ()  # (environment, next rotation date)


@dataclass(frozen=True)
class Register:
    credentials: tuple[Credential, ...]
    remind_every_days: int = 30


@dataclass(frozen=True)
class Overdue:
    name: str
    owner: str
    environment: str
    rotate_by: date
    days_over: int


def load_register(path: Path, *, display: str) -> Register:
    """Load credentials.yaml (schema ``verify_credentials``); a date that is not a day names its field."""
    data = load_yaml(path, "verify_credentials", display=display)
    found = []
    for name, entry in data["secrets"].items():
        dates = []
        for stage, text in sorted((entry.get("rotate_by") or {}).items()):
            try:
                dates.append((stage, date.fromisoformat(str(text))))
            except ValueError:
                raise ConfigError(
                    f"{display}: field secrets.{name}.rotate_by.{stage}: not a date (YYYY-MM-DD)"
                ) from None
        found.append(Credential(name, str(entry["owner"]), int(entry["rotate_every_days"]), tuple(dates)))
    return Register(tuple(found), int(data.get("remind_every_days", 30)))


def overdue(register: Register, today: date) -> list[Overdue]:
    """Every (secret, environment) whose rotation date is before ``today``, longest overdue first."""
    late = [
        Overdue(c.name, c.owner, stage, due, (today - due).days)
        for c in register.credentials
        for stage, due in c.rotate_by
        if due < today
    ]
    return sorted(late, key=lambda o: (-o.days_over, o.name, o.environment))
