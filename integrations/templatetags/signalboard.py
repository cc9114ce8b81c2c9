from typing import Any

from django import template

from integrations.tiktok.transport import fix_for

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    """`{{ warnings|get_item:index }}`: a dict lookup with a variable key."""
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def tiktok_fix(code: int | None) -> str:
    """What a person does about TikTok's error `code` (empty when we have nothing to add)."""
    if code is None:
        return ""
    return fix_for(code)
