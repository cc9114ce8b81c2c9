"""A cheap stand-in for TikTok's `/event/track/`, for `bench/forward.py --sink`: it reads and
parses each body and answers success, nothing more. The sandbox checks every field and records
every event in the database; this shows the ceiling of our own side of forwarding.

    gunicorn bench._sink:application
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    answer = {
        "code": 0,
        "message": f"OK: {len(body.get('data') or [])} events",
        "request_id": uuid.uuid4().hex,
        "data": {},
    }
    payload = json.dumps(answer).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response("200 OK", headers)
    return [payload]
