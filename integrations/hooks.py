"""The one place where other apps plug their functions into `integrations`.

`integrations` never imports `events` or `reporting`; they import it. Where integrations needs
something another app owns, that app registers it here from its `AppConfig.ready()`:

- `reporting` (reporting/apps.py) registers the cost pull tasks (a pull writes reporting's
  `CostRecord`s, so the pull runs there; integrations only queues it) and what the ad revenue
  API has received, shown on the Ad revenue tab.
- The TikTok sandbox (integrations/tiktok/sandbox/apps.py), when `TIKTOK_SANDBOX` is on,
  registers how to create a sandbox pixel (or app event source) and its token, so the
  Integration tab can offer "Create a sandbox pixel and token".
- Recurring schedules are registered the same way, through `integrations.schedules.register`.

Nothing else is looked up by name: the task paths django-q2 stores are derived from the
registered functions (`task_path`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class CostPullTasks:
    run: Callable[[int], Any]  # runs one queued CostPull, by id
    retry: Callable[[int], Any]  # queues a new pull for a CostConnection, by id


AdRevenueArrivals = Callable[[Any, str], list[dict[str, Any]]]  # (app, event name) → per day
# (event source kind "web" or "app", a name) → (pixel code or TikTok App ID, access token)
SandboxCredentials = Callable[[str, str], tuple[str, str]]

_cost_pull_tasks: CostPullTasks | None = None
_ad_revenue_arrivals: AdRevenueArrivals | None = None
_sandbox_credentials: SandboxCredentials | None = None


def task_path(function: Callable[..., Any]) -> str:
    """The dotted path django-q2 stores for a task function."""
    return f"{function.__module__}.{function.__qualname__}"


def register_cost_pull_tasks(*, run: Callable[[int], Any], retry: Callable[[int], Any]) -> None:
    global _cost_pull_tasks
    _cost_pull_tasks = CostPullTasks(run=run, retry=retry)


def cost_pull_tasks() -> CostPullTasks:
    if _cost_pull_tasks is None:
        raise ImproperlyConfigured("No cost pull tasks registered: is `reporting` installed?")
    return _cost_pull_tasks


def register_ad_revenue_arrivals(arrivals: AdRevenueArrivals) -> None:
    global _ad_revenue_arrivals
    _ad_revenue_arrivals = arrivals


def ad_revenue_arrivals(app: Any, event_name: str) -> list[dict[str, Any]]:
    """What arrived per day for the app's ad revenue event; none without `reporting`."""
    if _ad_revenue_arrivals is None:
        return []
    return _ad_revenue_arrivals(app, event_name)


def register_sandbox_credentials(create: SandboxCredentials) -> None:
    global _sandbox_credentials
    _sandbox_credentials = create


def sandbox_credentials() -> SandboxCredentials | None:
    """How to create sandbox credentials, or None when the sandbox is off."""
    return _sandbox_credentials
