"""Settings for the test suite: the same as base, with speed where safety does not matter."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]

# The suite sends many anonymous requests; throttling has its own test with its own rate.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/hour"}}  # noqa: F405
