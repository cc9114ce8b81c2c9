"""Signalboard settings: one file, every value from the environment.

Each variable has a default that works on a fresh clone (SQLite, the django-q2 ORM broker, the
TikTok sandbox). Malformed values stop start-up with a message naming the variable. The README
lists every variable.
"""

import re
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: unlike `env.bool`, a typo such as `ture` is an error, not False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """Comma-separated list with surrounding spaces removed (django-environ keeps them)."""
    return [item.strip() for item in env.str(name, default=default).split(",") if item.strip()]


def env_seconds_list(name: str, default: str) -> list[int]:
    """Comma-separated positive whole seconds, e.g. `60,300,1800`."""
    values = env_list(name, default)
    if not values or not all(
        value.isascii() and value.isdigit() and int(value) > 0 for value in values
    ):
        raise ImproperlyConfigured(f"{name} must be positive whole seconds, comma-separated")
    return [int(value) for value in values]


def env_url(name: str, default: str) -> str:
    value = env.str(name, default=default).strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name} must start with http:// or https://, not {value!r}")
    return value


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "insecure-dev-key-only-for-debug-mode-never-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# The ECB's reference rates (eurofxref-daily.xml), fetched every 6 hours; unset: not fetched.
EXCHANGE_RATES_URL = (
    env_url("EXCHANGE_RATES_URL", "") if env.str("EXCHANGE_RATES_URL", default="").strip() else ""
)
# App Store Server Notifications: the roots Apple's signing chains must end at (Apple Root CA -
# G3, shipped), and whether to ask Apple's OCSP responders about revocation (needs the network).
APPLE_ROOT_CERTIFICATES = env_list(
    "APPLE_ROOT_CERTIFICATES", str(BASE_DIR / "events" / "data" / "AppleRootCA-G3.cer")
)
APPLE_ONLINE_CHECKS = env_bool("APPLE_ONLINE_CHECKS", True)
# Google Play Developer API, asked about a notification's purchase where an app has a service
# account (its token endpoint comes from the key file itself).
GOOGLE_PLAY_API_BASE_URL = env_url(
    "GOOGLE_PLAY_API_BASE_URL", "https://androidpublisher.googleapis.com"
)
GOOGLE_PLAY_HTTP_TIMEOUT = env.float("GOOGLE_PLAY_HTTP_TIMEOUT", default=10.0)
# Email (invitations, password resets): django-environ's EMAIL_URL, e.g.
# smtp+tls://user:password@smtp.example.com:587; the console (printed, not sent) by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Signalboard <signalboard@localhost>")
# Seconds a process remembers a key's app and an app's forwarding rules (0: not at all).
CONFIG_CACHE_SECONDS = env_int("CONFIG_CACHE_SECONDS", 5)
# /metrics answers only scrapers sending this as a Bearer token; unset, /metrics is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """The header an HTTPS-terminating proxy sets, as Django's META key: `HTTP_X_FORWARDED_PROTO`
    (meaning the value `https`) or `HTTP_X_FORWARDED_SSL=on`. Empty: no such proxy."""
    raw = env.str(name, default="").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(HTTP_[A-Z0-9_]+)(?:=([A-Za-z0-9._-]+))?", raw)
    if match is None:
        raise ImproperlyConfigured(
            f"{name} must name the request header as Django's META key, e.g. "
            f"HTTP_X_FORWARDED_PROTO or HTTP_X_FORWARDED_SSL=on, not {raw!r}"
        )
    return match.group(1), match.group(2) or "https"


# Trust only a proxy that sets (and overwrites) this header, or clients could claim HTTPS.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")

# Secrets at rest: Fernet keys, newest first. The first key encrypts; every key decrypts, so a
# new key can be put in front and old rows re-encrypted with `manage.py rotate_encryption_keys`.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is required when DEBUG is off")
    # A fixed development key, so a fresh clone runs; `make run` writes a real one into .env.
    FIELD_ENCRYPTION_KEYS = ["c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0="]
for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.encode())
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe "
            "base64-encoded bytes; make one with `python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'`)"
        ) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "social_django",
    "axes",
    "csp",
    "integrations",
    "events",
    "reporting",
    "demo",
    "integrations.tiktok.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the web SDK, the admin's assets) from the WSGI process itself, so
    # production needs no separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "attribution_site.middleware.RefuseControlCharactersInPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "integrations.tiktok.oauth.CostConnectErrorMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "attribution_site.urls"
# Messages can carry a key shown once: keep them server-side, not in a signed cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "attribution_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "integrations.context_processors.navigation",
            ],
        },
    },
]

# Databases. SQLite needs WAL, a busy timeout and IMMEDIATE transactions to share its file with a
# running django-q2 cluster without "database is locked" errors.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend, health-checking a kept connection only after it sat idle.
PG_ENGINE = "attribution_site.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = PG_ENGINE
# A read replica (PostgreSQL streaming replication): reports, exports and the Pull API read
# from it; everything else stays on the primary (attribution_site/db_routers.py).
if env.str("DATABASE_REPLICA_URL", default="").strip():
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["ENGINE"] = PG_ENGINE
    for option in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS"):
        if option in DATABASES["default"]:
            DATABASES["replica"].setdefault(option, DATABASES["default"][option])
DATABASE_ROUTERS = ["attribution_site.db_routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked (see LOGIN_FAILURE_LIMIT).
    "attribution_site.login_lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Connect-only (ASSOCIATION_ONLY): links a TikTok for Business account, never logs in.
    "integrations.tiktok.oauth.TikTokBusinessOAuth2",
]
# social-auth: a trimmed pipeline with no load_extra_data, so the access token never lands in
# UserSocialAuth.extra_data; our last step stores it encrypted on the cost connection.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.social_auth.associate_user",
    "integrations.tiktok.oauth.store_cost_connection",
)
SOCIAL_AUTH_FIELDS_STORED_IN_SESSION = ["cost_integration"]
SOCIAL_AUTH_RAISE_EXCEPTIONS = False
SOCIAL_AUTH_LOGIN_ERROR_URL = "/"
SOCIAL_AUTH_URL_NAMESPACE = "social"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "integrations:app-list"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes) on /accounts/login/ and /admin/login/: after LOGIN_FAILURE_LIMIT
# failed logins for one username, or from one IP address, within LOGIN_LOCKOUT_MINUTES, both are
# refused for LOGIN_LOCKOUT_MINUTES (every further failure restarts it). Only failures count.
# Attempts are kept in the database, so every process sees the same count; staff unlock early by
# deleting the user's row under Axes → Access attempts in the admin.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "attribution_site.login_lockout.locked_out_response"
AXES_DISABLE_ACCESS_LOG = True  # failures are what we keep; not every successful login
# Behind a load balancer the per-IP count must see the visitor, not the balancer (NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "attribution_site.client_ip.get_client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default, adopted now

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Find files where they live (no collectstatic step to forget); the web SDK is fetched by
# customers' landing pages, so it must load whatever DEBUG says.
WHITENOISE_USE_FINDERS = True
# STATIC_ROOT only exists after an optional collectstatic; its absence is not worth a warning.
warnings.filterwarnings("ignore", message="No directory at: .*staticfiles")
WHITENOISE_MAX_AGE = 300

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Cache: django-q2's monitor and DRF's throttles keep counters here. LocMem is per process;
# set REDIS_URL for a shared one.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2. `retry` must exceed `timeout` (and the longest task) or the broker hands a running
# task out again. Partner errors are recorded in our own tables, so a failed q2 task is not
# retried by q2 (max_attempts=1, ack_failures) and never loops forever.
Q_TASK_TIMEOUT = env_int("Q_TASK_TIMEOUT", 300, minimum=10)
Q_CLUSTER = {
    "name": "signalboard",
    "workers": 1 if IS_SQLITE else env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TASK_TIMEOUT,
    "retry": Q_TASK_TIMEOUT + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "poll": 0.5,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as `600/min`: a count, a slash, and s, m, h or d."""
    value = env.str(name, default=default).strip()
    if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must look like 600/min or 50/s, not {value!r}")
    return value


# Proxies in front of the site (load balancer, CDN). Client IPs of clicks, impressions, the web
# SDK and the test event come from X-Forwarded-For only when this is set: see client_ip.py.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API reads JSON only; saying so keeps form encodings out of the OpenAPI schema.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        # Per server API key, and per public key and visitor IP (web SDK).
        "events_api": env_rate("EVENTS_API_RATE", "30000/min"),
        "events_sdk": env_rate("EVENTS_SDK_RATE", "300/min"),
    },
}
# Largest request body the events API reads (a full batch of 1,000 events fits easily).
EVENTS_MAX_BODY_BYTES = env_int("EVENTS_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)

SPECTACULAR_SETTINGS = {
    "TITLE": "Signalboard events API",
    "DESCRIPTION": (
        "Send clicks' conversions to Signalboard: events (one or up to 1,000 at a time) and "
        "installs with the app's server API key, and the web SDK's visits and events with the "
        "public key. Every answer is 202 with one result per item, or a 4xx with a reason."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["events.schema.drop_trailing_slash_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "events.schema.document_null_as_absent",
        "events.schema.document_links",
        "reporting.schema.document_pull_api",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ItemStatusEnum": ["accepted", "duplicate", "rejected"],
        "InstallStatusEnum": ["accepted", "duplicate", "reengagement"],
        "RejectedStatusEnum": ["rejected"],
    },
}

# TikTok. The clients read only TIKTOK_API_BASE_URL; the sandbox is mounted at /tiktok-sandbox/
# when TIKTOK_SANDBOX is on, and `make run` points the base URL at it.
TIKTOK_API_BASE_URL = env_url("TIKTOK_API_BASE_URL", "https://business-api.tiktok.com")
# Off by default in production: its console and fake endpoints are for development and demos.
TIKTOK_SANDBOX = env_bool("TIKTOK_SANDBOX", DEBUG)
TIKTOK_APP_ID = env.str("TIKTOK_APP_ID", default="")
TIKTOK_APP_SECRET = env.str("TIKTOK_APP_SECRET", default="")
TIKTOK_HTTP_TIMEOUT = env_int("TIKTOK_HTTP_TIMEOUT", 10, minimum=1)

# Cost pulls. The first pull of an advertiser reads COST_BACKFILL_DAYS days; the daily pull
# re-reads the last COST_RESTATEMENT_DAYS days before today (TikTok restates conversions and
# lags ~11 h). Rate-limited or failed report calls are retried after these many seconds.
COST_BACKFILL_DAYS = env_int("COST_BACKFILL_DAYS", 7, minimum=1)
COST_RESTATEMENT_DAYS = env_int("COST_RESTATEMENT_DAYS", 3, minimum=0)
COST_RETRY_BACKOFF = env_seconds_list("COST_RETRY_BACKOFF", "1,2,5,15,30")
# When the retries above run out, the pull ends and another is scheduled this much later.
COST_RETRY_LATER_SECONDS = env_int("COST_RETRY_LATER_SECONDS", 900, minimum=60)
COST_PULL_EVERY_MINUTES = env_int("COST_PULL_EVERY_MINUTES", 24 * 60, minimum=5)

# Raw-data exports. Above EXPORT_BACKGROUND_ROWS rows the page prepares the file in the
# background (reporting/export_jobs.py says why 200,000); files stay EXPORT_KEEP_HOURS hours.
EXPORT_DIR = env.str("EXPORT_DIR", default=str(BASE_DIR / "exports"))
EXPORT_BACKGROUND_ROWS = env_int("EXPORT_BACKGROUND_ROWS", 200_000, minimum=1)
EXPORT_KEEP_HOURS = env_int("EXPORT_KEEP_HOURS", 48, minimum=1)
# Export jobs running at once; the other django-q2 workers stay free for postback deliveries.
EXPORT_MAX_RUNNING = env_int("EXPORT_MAX_RUNNING", 1, minimum=1)

# Forwarding (postbacks). Retryable failures wait these many seconds before attempt 2, 3, …
# (each ±20% jitter); after the last one the postback is dead-lettered.
POSTBACK_RETRY_SCHEDULE = env_seconds_list(
    "POSTBACK_RETRY_SCHEDULE", "60,300,1800,7200,21600,86400"
)
# A claimed batch not finished within this many seconds is claimed again (its worker died).
POSTBACK_LEASE_SECONDS = env_int("POSTBACK_LEASE_SECONDS", 120, minimum=TIKTOK_HTTP_TIMEOUT + 5)
POSTBACK_CLAIM_LIMIT = env_int("POSTBACK_CLAIM_LIMIT", 5000, minimum=1)
# This machine's name in delivery claims (`claimed_by`); the host name when unset. Set it when
# several clusters share one host, so their deliveries can be told apart.
NODE_NAME = env.str("NODE_NAME", default="")
# Touchpoints, events and postbacks older than this many whole months are removed by the daily
# maintenance task (on PostgreSQL a month is dropped whole); 0 keeps them for ever.
EVENT_RETENTION_MONTHS = env_int("EVENT_RETENTION_MONTHS", 0)

# HTTPS and browser-side protections (README: Security headers). HSTS is sent only on requests
# that arrived over HTTPS, and by default only with DEBUG off on a site that says it is served
# over HTTPS: SECURE_SSL_REDIRECT, an HTTPS PUBLIC_BASE_URL, or an HTTPS-terminating proxy's
# header (SECURE_PROXY_SSL_HEADER, read and checked with the proxy settings).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
_SERVED_OVER_HTTPS = (
    SECURE_SSL_REDIRECT
    or PUBLIC_BASE_URL.startswith("https://")
    or SECURE_PROXY_SSL_HEADER is not None
)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _SERVED_OVER_HTTPS and not DEBUG else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Content-Security-Policy (django-csp), on every response, DEBUG or not: our pages load scripts
# and styles only from /static/ (no inline ones; tests/test_security_headers.py checks the
# templates). Django's own debug pages are exempt while DEBUG is on. The Cost tab's Connect form
# is answered with a redirect to TikTok's consent page, which form-action must allow. The API
# reference (Redoc, /api/docs/) builds its page with inline styles and a blob: worker: excluded.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", _origin(TIKTOK_API_BASE_URL)],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A 403 or 404 is logged as its one line, without the traceback Django attaches.
    "filters": {"refusals": {"()": "attribution_site.log_filters.RefusalWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django_q": {"level": env.str("Q_LOG_LEVEL", default="WARNING")},
        # urllib3 logs each request line at DEBUG, query string included, and TikTok's
        # advertiser/get takes the app secret in the query (spec §4.3): never below INFO.
        "urllib3": {"level": "INFO"},
    },
}
