"""Production serving: settings that refuse to start without their secrets, gunicorn with
WhiteNoise-served static files and security headers, and login throttling (django-axes)."""

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def production_env(**overrides: str) -> dict[str, str]:
    """The process environment with production settings and a valid key and host list."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ledger.settings.production",
        LEDGER_SECRET_KEY=secrets.token_urlsafe(64),
        LEDGER_ALLOWED_HOSTS="ledger.example.org",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def import_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("missing", "value"),
    [
        ("LEDGER_SECRET_KEY", ""),
        ("LEDGER_SECRET_KEY", "too-short"),
        ("LEDGER_SECRET_KEY", "insecure-local-development-key-do-not-deploy" + "x" * 10),
        ("LEDGER_ALLOWED_HOSTS", ""),
    ],
    ids=["no-key", "short-key", "development-key", "no-hosts"],
)
def test_production_settings_refuse_to_start_without_their_secrets(missing, value):
    result = import_settings(production_env(**{missing: value}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set {missing}" in result.stderr


def test_production_settings_start_with_them():
    result = import_settings(production_env())
    assert result.returncode == 0, result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    # The server sits behind a TLS proxy in production: say the request came over HTTPS.
    request = urllib.request.Request(
        url, headers={"Host": "ledger.example.org", "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """`make serve`'s two steps: collectstatic, then gunicorn on a loopback port."""
    if not GUNICORN.exists():
        pytest.skip(f"no gunicorn at {GUNICORN}")
    where = tmp_path_factory.mktemp("production")
    env = production_env(
        LEDGER_STATIC_ROOT=str(where / "static"),
        DATABASE_URL=f"sqlite:///{where / 'ledger.sqlite3'}",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [str(GUNICORN), "ledger.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                fetch(f"{url}/admin/login/")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"gunicorn stopped: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield url, where / "static"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_gunicorn_serves_the_admin_with_security_headers(production_server):
    url, _ = production_server
    status, headers, body = fetch(f"{url}/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in body
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Secure" in headers["Set-Cookie"] and "csrftoken" in headers["Set-Cookie"]


def test_gunicorn_redirects_plain_http_to_https(production_server):
    url, _ = production_server
    request = urllib.request.Request(f"{url}/admin/login/", headers={"Host": "ledger.example.org"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == "https://ledger.example.org/admin/login/"


def test_whitenoise_serves_hashed_compressed_static_files(production_server):
    url, static_root = production_server
    hashed = next(static_root.glob("admin/css/base.*.css"))
    status, headers, body = fetch(f"{url}/static/{hashed.relative_to(static_root)}")
    assert status == 200 and body == hashed.read_bytes()
    assert (
        "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    )
    # The Swagger UI bundle from drf-spectacular-sidecar is collected and compressed too.
    assert list(
        static_root.glob("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.*.js.gz")
    )


# --- Login throttling (django-axes, enabled in the test settings as in production) ------------


def test_throttling_is_on_in_the_test_settings():
    assert settings.AXES_ENABLED is not False
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE


def admin_login(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_admin_login_locks_out_after_too_many_wrong_passwords(editor):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        refused = admin_login(client, "editor", "wrong-password")
        assert refused.status_code == 200 and b"Please enter the correct" in refused.content
    locked = admin_login(client, "editor", "wrong-password")
    assert locked.status_code == 429
    assert AccessAttempt.objects.get(username="editor").failures_since_start == limit

    # Now even the right password is refused, and no session is opened.
    locked = admin_login(client, "editor", "editor-pass-123")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302

    # Another user from the same address is not locked out.
    other = admin_login(Client(), "reader", "wrong-password")
    assert other.status_code == 200


def test_a_right_password_before_the_limit_resets_the_count(editor):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "editor", "wrong-password")
    assert admin_login(client, "editor", "editor-pass-123").status_code == 302
    assert not AccessAttempt.objects.filter(username="editor").exists()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_api_token_login_locks_out_too(editor):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = APIClient().post(
            "/api/v1/auth/login/", HTTP_AUTHORIZATION=basic("editor", "wrong-password")
        )
        assert response.status_code == 401
    response = APIClient().post(
        "/api/v1/auth/login/", HTTP_AUTHORIZATION=basic("editor", "editor-pass-123")
    )
    assert response.status_code in {401, 403, 429}
    assert not AuthToken.objects.exists()
