"""Forms of the reporting pages that are not filters (those live beside their reports)."""

from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Name", help_text="What the token is for, e.g. Airbyte or a notebook."
    )
