"""Forms of the reporting pages that are not filters (those live beside their reports)."""

from django import forms

from integrations.secrets import SecretInput
from reporting.models import AlertKind


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Name", help_text="What the token is for, e.g. Airbyte or a notebook."
    )


class AlertSettingsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Alert me when",
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    emails = forms.CharField(
        label="Email to",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One address per line.",
    )
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        assume_scheme="https",
        widget=SecretInput(),
        help_text='A Slack-compatible incoming webhook (we POST {"text": …}). Leave blank to '
        "keep the one stored; it is never shown back.",
    )
    forget_webhook = forms.BooleanField(label="Remove the stored webhook", required=False)

    def clean_emails(self) -> list[str]:
        addresses = [line.strip() for line in self.cleaned_data["emails"].splitlines()]
        addresses = [address for address in addresses if address]
        validator = forms.EmailField()
        for address in addresses:
            try:
                validator.clean(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an email address.") from None
        return addresses

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError("The webhook must be an https:// address.")
        return url
