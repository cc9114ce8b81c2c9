"""A refused request logs one line and no traceback, and the page says what to do."""

from __future__ import annotations

import logging

from django.urls import reverse


def console_handler() -> logging.Handler:
    [handler] = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    return handler


def test_a_403_is_one_log_line_and_a_page_that_says_why(client, app, marketer, caplog):
    client.force_login(marketer)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("integrations:team", args=[app.app_id]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not do this" in page and "change your role on its Team page" in page
    assert 'class="account"' in page  # the product's layout, signed in
    [record] = [r for r in caplog.records if r.name == "django.request"]
    handler = console_handler()
    assert handler.filter(record)
    line = handler.format(record)
    assert "Forbidden (Permission denied)" in line
    assert "Traceback" not in line and "\n" not in line
