"""Production settings: secure by default; secrets and site-specific values from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = False
LEDGER_FOUR_EYES = env_bool("LEDGER_FOUR_EYES", True)

SECRET_KEY = os.environ.get("LEDGER_SECRET_KEY", "")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured(
        "Set LEDGER_SECRET_KEY to a random string of at least 50 characters."
    )

ALLOWED_HOSTS = env_list("LEDGER_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set LEDGER_ALLOWED_HOSTS to the site's host names, comma-separated."
    )
CSRF_TRUSTED_ORIGINS = env_list("LEDGER_CSRF_TRUSTED_ORIGINS")

# TLS is terminated in front of the app by default; LEDGER_SECURE_SSL_REDIRECT=0 turns it off
# where a proxy already redirects.
SECURE_SSL_REDIRECT = env_bool("LEDGER_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("LEDGER_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEDGER_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("LEDGER_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Static files are served by the app itself through WhiteNoise (after `collectstatic`), hashed
# and compressed, with far-future caching.
MIDDLEWARE = [
    *MIDDLEWARE[:1],  # noqa: F405 (SecurityMiddleware first)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],  # noqa: F405
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
