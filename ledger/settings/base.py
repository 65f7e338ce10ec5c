"""Settings shared by every environment; each value that differs between machines comes from the
environment, so the same code runs on a laptop, in CI and in production."""

import datetime
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Local development defaults; ledger.settings.production refuses to start without a real key.
SECRET_KEY = os.environ.get("LEDGER_SECRET_KEY", "insecure-local-development-key-do-not-deploy")
DEBUG = env_bool("LEDGER_DEBUG", True)
ALLOWED_HOSTS = env_list("LEDGER_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "rest_framework",
    "django_filters",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "aid",
    "sources",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "ledger.unavailable.DatabaseUnavailableMiddleware",  # a database outage is a 503, not a 500
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into a 429
]

ROOT_URLCONF = "ledger.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ledger" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "ledger.wsgi.application"

# DATABASE_URL selects the database (postgres://postgres@127.0.0.1:5432/ledger); unset means the
# embedded SQLite file in the checkout.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("LEDGER_DB_CONN_MAX_AGE", "60")),
        # A reused connection is checked before each request: after a database restart the
        # worker reconnects instead of failing its first request on the dead connection.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The per-line rate look-ups of totals make PostgreSQL's cost estimates large enough to start
    # its JIT compiler, which costs more than it saves here (totals at 10^5 lines: 2.1 s -> 1.8 s
    # in EUR, 7.0 s -> 4.6-5.8 s in USD; docs/performance.md).
    # Server-side cursors (`QuerySet.iterator`: the CSV exports) are read to the end, so they are
    # planned for all their rows, not the first tenth (the lines CSV's source URLs at 10^6 lines:
    # 4.3 s -> 1.8 s).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c jit=off -c cursor_tuple_fraction=1"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while an editor writes; the timeout waits out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Security: Content Security Policy and login throttling -------------------------------------
# Scripts and style sheets only from the ledger itself, or inline with the response's nonce
# (the totals page's styles, Swagger UI's start-up). Style *attributes* are allowed: the browsable
# API's templates use them, and unlike a <style> block they cannot select or read the page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Swagger UI's and the admin's icons
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# django-axes locks a user name out from an address after this many wrong passwords in a row
# (admin login and the API's token login alike), for LEDGER_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LEDGER_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=int(os.environ.get("LEDGER_LOGIN_COOLOFF_MINUTES", "30"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
FORMAT_MODULE_PATH = ["ledger.formats"]
TIME_ZONE = os.environ.get("LEDGER_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("LEDGER_STATIC_ROOT", BASE_DIR / "staticfiles"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEDGER_LOG_LEVEL", "INFO")},
}
SIMPLE_HISTORY_REVERT_DISABLED = (
    True  # a revert would bypass the services that validate whole pledges
)

# --- Lines CSV import -----------------------------------------------------------------------
# Past these an import is refused with a message naming the limit (the file is not read further).
LEDGER_IMPORT_MAX_BYTES = int(os.environ.get("LEDGER_IMPORT_MAX_BYTES", str(100 * 1024 * 1024)))
LEDGER_IMPORT_MAX_ROWS = int(os.environ.get("LEDGER_IMPORT_MAX_ROWS", "250000"))
# Four eyes: a reviewer never publishes a change they made (aid.revisions). On in production.
LEDGER_FOUR_EYES = env_bool("LEDGER_FOUR_EYES", False)
# Uploads wait here between the admin's preview and its confirm step.
LEDGER_IMPORT_DIR = Path(os.environ.get("LEDGER_IMPORT_DIR", BASE_DIR / ".local" / "imports"))

# --- Dataset releases (aid/releases/) --------------------------------------------------------
# One folder per release, written once; back it up with the database (docs/operations.md).
LEDGER_RELEASE_DIR = Path(os.environ.get("LEDGER_RELEASE_DIR", BASE_DIR / ".local" / "releases"))
# Where the public reads the ledger: the citation of a release names its URL under this.
LEDGER_PUBLIC_URL = os.environ.get("LEDGER_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The licence a release's data package states (an SPDX id with its URL) and its attribution.
LEDGER_RELEASE_LICENSE = os.environ.get("LEDGER_RELEASE_LICENSE", "CC-BY-4.0")
LEDGER_RELEASE_LICENSE_URL = os.environ.get(
    "LEDGER_RELEASE_LICENSE_URL", "https://creativecommons.org/licenses/by/4.0/"
)
LEDGER_RELEASE_ATTRIBUTION = os.environ.get(
    "LEDGER_RELEASE_ATTRIBUTION",
    "Compiled by the ledger's editors from the sources cited on each pledge (source_urls).",
)

# --- API ---------------------------------------------------------------------------------------
# Anonymous users read unless this is set; writes always need a user with model permissions.
LEDGER_API_READ_REQUIRES_LOGIN = env_bool("LEDGER_API_READ_REQUIRES_LOGIN", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ledger.api.permissions.LedgerPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "ledger.api.pagination.Pages",
    "DEFAULT_PARSER_CLASSES": [
        "ledger.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "ledger.api.csv.CSVRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": os.environ.get("LEDGER_API_ANON_RATE", "600/hour")},
    "EXCEPTION_HANDLER": "ledger.api.errors.json_exception_handler",
    # Money is a decimal string ("1000000.00"): a binary float loses cents beyond 10^13.
    "COERCE_DECIMAL_TO_STRING": True,
    "DATE_FORMAT": "iso-8601",
}

REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(days=int(os.environ.get("LEDGER_API_TOKEN_DAYS", "90"))),
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Military-aid commitment ledger API",
    "DESCRIPTION": "Pledges of military aid with their lines and sources, and totals by donor, "
    "category and period. Every list and the totals answer `?format=csv`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"UnitEnum": "aid.models.catalogue.Unit"},
}
