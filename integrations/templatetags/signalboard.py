from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    """`{{ warnings|get_item:index }}`: a dict lookup with a variable key."""
    if not mapping:
        return None
    return mapping.get(key)
