"""Architecture: integrations' tables are written only by `integrations/services/`, and
`integrations` depends on neither `events` nor `reporting`."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ["attribution_site", "events", "integrations", "reporting", "demo"]
WRITES = {
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}
# Not write paths of the product: migrations (historical models), the TikTok sandbox (its own
# tables), and the demo seed, which fills an empty database with made-up history.
EXEMPT = [
    "/integrations/services/",
    "/migrations/",
    "/integrations/tiktok/sandbox/",
    "/demo/",
]


def integration_models() -> set[str]:
    return {model.__name__ for model in apps.get_app_config("integrations").get_models()}


def writes_in(source: str, relative: str, models: set[str]) -> list[str]:
    """Calls like `CostPull.objects.filter(...).update(...)` on a model of `integrations`."""
    tree = ast.parse(source, filename=relative)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "integrations.models"
        for alias in node.names
        if alias.name in models
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        if (
            node.func.attr in WRITES
            and receiver.split(".")[0] in imported
            and ".objects" in receiver
        ):
            found.append(f"{relative}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def writes_outside_services() -> list[str]:
    models = integration_models()
    found = []
    for path in sorted(
        p for top in PRODUCTION if (ROOT / top).is_dir() for p in (ROOT / top).rglob("*.py")
    ):
        relative = path.relative_to(ROOT).as_posix()
        if any(part in f"/{relative}" for part in EXEMPT):
            continue
        found += writes_in(path.read_text(), relative, models)
    return found


def test_only_integrations_services_write_integrations_tables():
    assert writes_outside_services() == []


def test_the_check_sees_a_direct_write_such_as_reporting_once_made():
    source = (
        "from integrations.models import CostConnection, CostPull\n"
        "CostConnection.objects.filter(pk=1).update(last_error='x')\n"
        "CostPull.objects.create(connection_id=1)\n"
        "CostPull.objects.filter(pk=1).exists()\n"
    )
    found = writes_in(source, "reporting/cost_pulls.py", integration_models())
    assert [line.split(":")[1] for line in found] == ["2", "3"]


def test_integrations_imports_neither_events_nor_reporting():
    # They plug into it through integrations/hooks.py instead (dependencies point one way).
    found = []
    for path in sorted((ROOT / "integrations").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in {"events", "reporting"}
            ]
    assert found == []


def test_production_apps_import_neither_the_demo_nor_the_sandbox():
    found = []
    for top in ["attribution_site", "events", "integrations", "reporting"]:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "/integrations/tiktok/sandbox/" in f"/{path.relative_to(ROOT).as_posix()}":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                    for name in names
                    if name.split(".")[0] == "demo"
                    or name.startswith("integrations.tiktok.sandbox")
                ]
    assert found == []
