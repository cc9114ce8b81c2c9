"""Secrets at rest: one encrypted model field and a value type that will not print itself.

Tokens, secure keys and OAuth tokens are stored as MultiFernet ciphertext. The first key in
FIELD_ENCRYPTION_KEYS encrypts, every key decrypts, so keys can be rotated without downtime.
In Python the plain value lives inside `Secret`; `str()`, `repr()`, templates and forms only ever
see a masked hint, and code that must send the token calls `.reveal()` explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

MASK = "••••"


class Secret:
    """A decrypted secret. Printing it shows only a hint such as `••••3f9c`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    @property
    def hint(self) -> str:
        return mask_secret(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        if isinstance(other, str):
            return self._value == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return self.hint

    def __repr__(self) -> str:
        return f"Secret({self.hint!r})"


def mask_secret(value: str, visible: int = 4) -> str:
    """`••••` plus the last characters, enough for a person to recognise which token it is."""
    if not value:
        return ""
    if len(value) <= visible * 2:
        return MASK
    return MASK + value[-visible:]


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)"
        ) from exc


def get_fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return get_fernet().encrypt(plain.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return get_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: none of FIELD_ENCRYPTION_KEYS matches. "
            "Put the key it was encrypted with back into the list."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first key (after a new key was put in front)."""
    return get_fernet().rotate(ciphertext.encode()).decode()


class SecretInput(forms.PasswordInput):
    """Write-only input: never renders the stored value back into the page."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"autocomplete": "off", "spellcheck": "false"}
        super().__init__(attrs={**base, **(attrs or {})}, render_value=False)


class EncryptedSecretField(models.TextField):
    """A text column holding Fernet ciphertext; Python sees a `Secret`, never a plain str."""

    description = "Encrypted secret"
    # For mypy (django-stubs): a Secret or plain str may be assigned; reading gives a Secret.
    _pyi_private_set_type: Secret | str
    _pyi_private_get_type: Secret

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        if not value:
            return Secret("")
        return Secret(decrypt(value))

    def to_python(self, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        return Secret(value or "")

    def get_prep_value(self, value: Any) -> str:
        plain = value.reveal() if isinstance(value, Secret) else (value or "")
        if not plain:
            return ""
        return encrypt(str(plain))

    def value_to_string(self, obj: models.Model) -> str:
        """Serialisers (dumpdata, exports) get nothing: secrets are never exported."""
        return ""

    def formfield(self, **kwargs: Any) -> forms.Field:
        defaults = {"form_class": forms.CharField, "widget": SecretInput, "required": False}
        defaults.update(kwargs)
        return super().formfield(**defaults)
