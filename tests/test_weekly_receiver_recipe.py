"""The receiver recipe in docs/weekly.md, run exactly as written with the ``standardwebhooks`` library.

The recipe's code block is read from the doc and executed against real deliveries to a receiver on
127.0.0.1, for a ``whsec_`` secret and for plain secrets (one that happens to be valid base64 too):
what the doc tells a receiver to do must verify what the job sends.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from _support_weekly import WEEK, WHSEC_SECRET, delivery_env, inputs_workspace, receiver, weekly as _weekly
from observability.outbound import signing

DOC = Path(__file__).resolve().parents[1] / "docs" / "weekly.md"
ENDED = "2026-01-12T00:07:00Z"
SECRETS = [WHSEC_SECRET, "test-secret-not-a-real-one", "plain+secret/with=chars", "abcd1234efgh5678"]


def recipe() -> str:
    """The Python block under the doc's "Verifying in a receiver" heading."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"^#+ Verifying in a receiver\n(.*?)```python\n(.*?)```", text, re.S | re.M)
    assert found, "docs/weekly.md has no 'Verifying in a receiver' section with a python block"
    return found.group(2)


def delivered(tmp_path: Path, secret: str):
    ws = inputs_workspace(tmp_path / "ws")
    key = signing.key_of(secret)
    with receiver([200], obs_key=key, standard_secret=key) as rec:
        run = _weekly(
            ws,
            "report",
            "--week-start",
            WEEK,
            "--retry-wait-seconds",
            "0",
            "--max-retries",
            "1",
            now=ENDED,
            env=delivery_env(rec, secret),
        )
    assert run.exit_code == 0, run
    [request] = rec.requests
    return request.body, {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize("secret", SECRETS)
def test_the_documented_recipe_verifies_every_kind_of_secret(tmp_path, secret):
    body, headers = delivered(tmp_path, secret)
    scope = {"secret": secret, "body": body, "headers": headers}
    exec(compile(recipe(), str(DOC), "exec"), scope)  # noqa: S102 - the doc's own code, run as written
    assert scope["payload"]["week_start"] == WEEK
    tampered = {**headers, "webhook-id": headers["webhook-id"] + "x"}
    with pytest.raises(WebhookVerificationError):
        exec(compile(recipe(), str(DOC), "exec"), {**scope, "headers": tampered})  # noqa: S102


def test_the_library_given_a_plain_secret_string_does_not_verify(tmp_path):
    """Why the recipe passes bytes: the library base64-decodes any string secret, prefix or not."""
    body, headers = delivered(tmp_path, "test-secret-not-a-real-one")
    with pytest.raises((WebhookVerificationError, ValueError)):  # a wrong key, or not base64 at all
        Webhook("test-secret-not-a-real-one").verify(body, headers)
    Webhook(b"test-secret-not-a-real-one").verify(body, headers)
