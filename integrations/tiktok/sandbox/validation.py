"""Strict validation of `/event/track/` bodies, as the spec describes TikTok's (§1, §7).

Problems are reported as TikTok does: code 40002 and a message that starts with the field's
path, e.g. `Batch.0.properties.contents.0.content_id: Not a valid string.` (§1.7). A problem with
the request itself (a top-level field) is reported alone. Problems of items are reported for
every bad item, first problem of each, as `Batch.<i>.<path>: <problem>` clauses joined by "; "
in item order. Whether TikTok lists more than one bad item is unconfirmed; our client copes with
one, several or none named (events/services/delivery.py splits a batch when none is named).
"""

from __future__ import annotations

import re
from typing import Any

EVENT_SOURCES = ("web", "app", "offline", "crm")
MAX_EVENTS = 1000
SHA256_HEX = re.compile(r"^[0-9a-f]{64}\Z")
HASHED_USER_FIELDS = ("email", "phone", "external_id")
TOP_LEVEL_FIELDS = {"event_source", "event_source_id", "test_event_code", "partner_name", "data"}
CURRENCY = re.compile(r"^[A-Z]{3}\Z")


ITEM_PATH = "Batch.{index}"
ITEM_SEPARATOR = "; "
CONTENT_TYPES = ("product", "product_group")
# §1.4: how TikTok types each property; `contents[]` items below.
STRING_PROPERTIES = (
    "order_id",
    "shop_id",
    "description",
    "search_string",
    "query",
    "content_id",
    "content_name",
    "content_category",
    "delivery_category",
)
INTEGER_PROPERTIES = ("num_items",)
NUMBER_PROPERTIES = ("value", "predicted_ltv")
CONTENT_STRINGS = ("content_id", "content_name", "content_category", "brand")


class Invalid(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


class InvalidItems(Invalid):
    """Several items are bad: one `Batch.<i>.<path>: <problem>` clause per bad item."""

    def __init__(self, problems: list[Invalid]) -> None:
        Exception.__init__(self, ITEM_SEPARATOR.join(str(problem) for problem in problems))


def validate_track_body(body: Any) -> None:
    """Raise `Invalid` with the first problem's path, or return when the body is acceptable."""
    if not isinstance(body, dict):
        raise Invalid("body", "Must be a JSON object.")
    unknown = sorted(set(body) - TOP_LEVEL_FIELDS)
    if unknown:
        # limited_data_use belongs inside each data item (§1.2), not at the top.
        raise Invalid(unknown[0], "Unknown field.")
    if body.get("event_source") not in EVENT_SOURCES:
        raise Invalid("event_source", f"Must be one of: {', '.join(EVENT_SOURCES)}.")
    _require_string(body, "event_source_id", "event_source_id")
    for name in ("test_event_code", "partner_name"):
        if name in body and not isinstance(body[name], str):
            raise Invalid(name, "Not a valid string.")
    data = body.get("data")
    if not isinstance(data, list):
        raise Invalid("data", "Not a valid list.")
    if not 1 <= len(data) <= MAX_EVENTS:
        raise Invalid("data", f"Length must be between 1 and {MAX_EVENTS}.")
    problems = []
    for index, item in enumerate(data):
        try:
            _validate_item(item, ITEM_PATH.format(index=index))
        except Invalid as problem:
            problems.append(problem)
    if problems:
        raise InvalidItems(problems)


def _validate_item(item: Any, path: str) -> None:
    if not isinstance(item, dict):
        raise Invalid(path, "Must be a JSON object.")
    _require_string(item, "event", f"{path}.event")
    event_time = item.get("event_time")
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise Invalid(f"{path}.event_time", "Not a valid integer.")
    if event_time <= 0:
        raise Invalid(f"{path}.event_time", "Must be a Unix timestamp in seconds.")
    if event_time > 10_000_000_000:
        raise Invalid(f"{path}.event_time", "Must be in seconds, not milliseconds.")
    if "event_id" in item and not isinstance(item["event_id"], str):
        raise Invalid(f"{path}.event_id", "Not a valid string.")
    if "limited_data_use" in item and not isinstance(item["limited_data_use"], bool):
        raise Invalid(f"{path}.limited_data_use", "Not a valid boolean.")
    _validate_user(item.get("user"), f"{path}.user")
    _validate_properties(item.get("properties"), f"{path}.properties")
    for name in ("page", "app", "ad", "lead"):
        if name in item and not isinstance(item[name], dict):
            raise Invalid(f"{path}.{name}", "Must be a JSON object.")


def _validate_user(user: Any, path: str) -> None:
    if user is None:
        return
    if not isinstance(user, dict):
        raise Invalid(path, "Must be a JSON object.")
    for name in HASHED_USER_FIELDS:
        if name not in user:
            continue
        values = user[name] if isinstance(user[name], list) else [user[name]]
        for position, value in enumerate(values):
            where = (
                f"{path}.{name}"
                if not isinstance(user[name], list)
                else f"{path}.{name}.{position}"
            )
            if not isinstance(value, str):
                raise Invalid(where, "Not a valid string.")
            if not SHA256_HEX.match(value):
                raise Invalid(where, "Must be a SHA-256 hash (64 lowercase hex characters).")
    for name in ("ttclid", "ttp", "ip", "user_agent", "locale"):
        if name in user and not isinstance(user[name], str):
            raise Invalid(f"{path}.{name}", "Not a valid string.")


def _validate_properties(properties: Any, path: str) -> None:
    if properties is None:
        return
    if not isinstance(properties, dict):
        raise Invalid(path, "Must be a JSON object.")
    for name in NUMBER_PROPERTIES:
        if name in properties and not _is_number(properties[name]):
            raise Invalid(f"{path}.{name}", "Not a valid number.")
    if "currency" in properties and not (
        isinstance(properties["currency"], str) and CURRENCY.match(properties["currency"])
    ):
        raise Invalid(f"{path}.currency", "Must be an ISO 4217 code such as USD.")
    if "content_type" in properties and properties["content_type"] not in CONTENT_TYPES:
        raise Invalid(f"{path}.content_type", f"Must be one of: {', '.join(CONTENT_TYPES)}.")
    for name in STRING_PROPERTIES:
        if name in properties and not isinstance(properties[name], str):
            raise Invalid(f"{path}.{name}", "Not a valid string.")
    for name in INTEGER_PROPERTIES:
        if name in properties and not _is_integer(properties[name]):
            raise Invalid(f"{path}.{name}", "Not a valid integer.")
    if "content_ids" in properties:
        content_ids = properties["content_ids"]
        if not isinstance(content_ids, list):
            raise Invalid(f"{path}.content_ids", "Not a valid list.")
        for index, content_id in enumerate(content_ids):
            if not isinstance(content_id, str):
                raise Invalid(f"{path}.content_ids.{index}", "Not a valid string.")
    contents = properties.get("contents")
    if contents is None:
        return
    if not isinstance(contents, list):
        raise Invalid(f"{path}.contents", "Not a valid list.")
    for index, content in enumerate(contents):
        where = f"{path}.contents.{index}"
        if not isinstance(content, dict):
            raise Invalid(where, "Must be a JSON object.")
        for name in CONTENT_STRINGS:
            if name in content and not isinstance(content[name], str):
                raise Invalid(f"{where}.{name}", "Not a valid string.")
        if "price" in content and not _is_number(content["price"]):
            raise Invalid(f"{where}.price", "Not a valid number.")
        if "quantity" in content and not _is_integer(content["quantity"]):
            raise Invalid(f"{where}.quantity", "Not a valid integer.")


def _is_number(value: Any) -> bool:
    """A JSON number: not a string of digits, not a boolean (§1.4, "plain number")."""
    return not isinstance(value, bool) and isinstance(value, int | float)


def _is_integer(value: Any) -> bool:
    """A JSON integer: 2, not 2.0, "2" or true."""
    return not isinstance(value, bool) and isinstance(value, int)


def _require_string(container: dict, key: str, path: str) -> None:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise Invalid(
            path, "Missing data for required field." if value is None else "Not a valid string."
        )
