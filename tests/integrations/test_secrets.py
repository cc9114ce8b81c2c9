"""Secrets are encrypted at rest, masked in Python, and rotate with MultiFernet keys."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from integrations.models import Pixel
from integrations.secrets import Secret
from tests import factories

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


def raw_column(pixel: Pixel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM integrations_pixel WHERE id = %s", [pixel.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def pixel(app):
    return factories.make_pixel(factories.make_integration(app), access_token=TOKEN)


def test_it_never_stores_the_plain_token(pixel):
    stored = raw_column(pixel)
    assert TOKEN not in stored
    assert stored.startswith("gAAAA")  # Fernet ciphertext


def test_it_decrypts_on_read(pixel):
    assert Pixel.objects.get(pk=pixel.pk).access_token.reveal() == TOKEN


def test_it_masks_the_token_in_str_and_repr(pixel):
    token = Pixel.objects.get(pk=pixel.pk).access_token
    assert str(token) == "••••f7a9"
    assert TOKEN not in repr(token)
    assert TOKEN not in f"{token}"


def test_it_never_renders_the_token_into_a_form(pixel):
    from django.forms import modelform_factory

    form = modelform_factory(Pixel, fields=["pixel_code", "access_token"])(instance=pixel)
    html = str(form)
    assert TOKEN not in html
    assert 'type="password"' in html


def test_it_encrypts_the_same_token_differently_each_time(app):
    first = factories.make_pixel(factories.make_integration(app), access_token=TOKEN)
    other_app = factories.make_app()
    second = factories.make_pixel(factories.make_integration(other_app), access_token=TOKEN)
    assert raw_column(first) != raw_column(second)


def test_it_keeps_reading_after_a_new_key_is_put_first(pixel, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), *old_keys]):
        assert Pixel.objects.get(pk=pixel.pk).access_token == TOKEN


def test_rotation_command_moves_every_secret_to_the_new_key(pixel, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    before = raw_column(pixel)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert raw_column(pixel) != before
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert Pixel.objects.get(pk=pixel.pk).access_token == TOKEN


def test_it_explains_a_missing_key_instead_of_crashing_obscurely(pixel):
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"),
    ):
        Pixel.objects.get(pk=pixel.pk)


def test_empty_secret_is_falsy_and_stored_empty(app):
    pixel = factories.make_pixel(factories.make_integration(app), access_token="")
    assert raw_column(pixel) == ""
    assert not Pixel.objects.get(pk=pixel.pk).access_token
    assert Secret("") == ""
