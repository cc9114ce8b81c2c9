"""Headers that keep reports out of caches and scripts off our pages: Cache-Control no-store on
report pages and exports, a Content-Security-Policy everywhere (our templates have no inline
script or style), and HSTS when the site is served over HTTPS with DEBUG off."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from reporting.api_tokens import create_api_token
from reporting.models import ExportJob

ROOT = Path(__file__).resolve().parent.parent
WINDOW = {"from": "2026-03-01", "to": "2026-03-07"}
COST_WINDOW = {"date_from": "2026-03-01", "date_to": "2026-03-07"}


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("reporting:cost", COST_WINDOW),
        ("reporting:cost-export", COST_WINDOW),
        ("reporting:overview", COST_WINDOW),
        ("reporting:raw-data", WINDOW),
        ("reporting:raw-data-export", {"report": "installs", **WINDOW}),
    ],
)
def test_report_pages_and_exports_are_never_stored(client, app, analyst, name, query):
    client.force_login(analyst)
    response = client.get(reverse(name, args=[app.app_id]), query)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_export_jobs_are_never_stored(client, app, analyst):
    job = ExportJob.objects.create(app=app, user=analyst, report="installs", params=WINDOW)
    client.force_login(analyst)
    response = client.get(reverse("reporting:export-job-status", args=[app.app_id, job.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("name", "report"),
    [
        ("reporting:pull-api", "installs_report"),
        ("reporting:pull-api-aggregate", "partners_report"),
    ],
)
def test_the_pull_api_is_never_stored(client, app, analyst, name, report):
    token = create_api_token(acting_user=analyst, name="Airbyte")[1]
    url = reverse(name, args=[app.app_id, report])
    response = client.get(url, WINDOW, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def _directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_pages_carry_a_content_security_policy_without_inline_script(client, app, marketer):
    client.force_login(marketer)
    response = client.get(reverse("integrations:app-detail", args=[app.app_id]))
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    # The Cost tab's Connect form is answered with a redirect to TikTok's consent page: its
    # origin (the sandbox `make run` writes into .env has a path).
    tiktok = urlsplit(settings.TIKTOK_API_BASE_URL)
    assert policy["form-action"] == ["'self'", f"{tiktok.scheme}://{tiktok.netloc}"]


def test_the_login_and_admin_pages_carry_it_too(client):
    assert "Content-Security-Policy" in client.get("/accounts/login/")
    assert "Content-Security-Policy" in client.get("/admin/login/")


def test_no_template_has_inline_script_or_style():
    """What the policy forbids: <script> without src (JSON data blocks are not run), <style>,
    style= attributes and on…= handlers."""
    templates = [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.glob("*/templates/**/*.html")]
    offenders = []
    for template in templates:
        text = template.read_text()
        scripts = re.findall(r"<script\b[^>]*>", text)
        inline = [tag for tag in scripts if "src=" not in tag and "application/json" not in tag]
        if inline or re.search(r"<style\b|\sstyle=|\son[a-z]+=", text):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


def _deployed_headers(**env: str) -> dict[str, str]:
    """The headers of the login page served over HTTPS by a process started with DEBUG off."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEYS": "c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0=",
            **env,
        }
    )
    script = (
        "import json; from django.test import Client; "
        "r = Client().get('/accounts/login/', secure=True); print(json.dumps(dict(r.headers)))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_deployments_send_hsts_for_a_year():
    headers = _deployed_headers(PUBLIC_BASE_URL="https://signalboard.example")
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Content-Security-Policy" in headers


def test_hsts_can_be_tuned_or_turned_off():
    tuned = _deployed_headers(
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
    )
    assert tuned["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    off = _deployed_headers(PUBLIC_BASE_URL="https://signalboard.example", SECURE_HSTS_SECONDS="0")
    assert "Strict-Transport-Security" not in off


def test_a_plain_http_deployment_sends_no_hsts():
    assert "Strict-Transport-Security" not in _deployed_headers()
