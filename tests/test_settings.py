"""Malformed settings stop start-up with a message that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def check(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "ture"}, "DEBUG must be one of"),
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY is required when DEBUG is off"),
        (
            {"DEBUG": "false", "SECRET_KEY": "x" * 50, "FIELD_ENCRYPTION_KEYS": ""},
            "FIELD_ENCRYPTION_KEYS is required",
        ),
        (
            {"FIELD_ENCRYPTION_KEYS": "c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0=,notakey"},
            "FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key",
        ),
        ({"TIKTOK_API_BASE_URL": "business-api.tiktok.com"}, "TIKTOK_API_BASE_URL must start"),
        ({"TIKTOK_HTTP_TIMEOUT": "soon"}, "TIKTOK_HTTP_TIMEOUT must be an integer"),
        ({"TIKTOK_SANDBOX": "maybe"}, "TIKTOK_SANDBOX must be one of"),
    ],
)
def test_it_refuses_to_start_with_a_malformed_value(env, message):
    result = check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_starts_with_no_environment_at_all():
    result = check(DEBUG="true")
    assert result.returncode == 0, result.stderr
