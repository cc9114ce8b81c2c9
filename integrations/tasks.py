"""django-q2 tasks of the partner side. Thin: look up ids, call a service."""

from django.core.management import call_command


def clear_expired_sessions() -> str:
    call_command("clearsessions")
    return "expired sessions cleared"
