"""Fixtures shared by the suite: parties from the seed migration, users and a minimal pledge."""

import datetime
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connections, transaction

from aid.demo.loader import load_demo
from aid.models import Category, Line, Official, Party, Pledge
from aid.services import pledge_create
from sources.models import PledgeSource, Source

SEED_TITLE = (
    "Russian recruits escape military training camp in fresh humiliation for Vladimir Putin"
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo ledger, loaded once for the test module that asks for it and rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def gb(db):
    return Party.objects.get(code="GB")


@pytest.fixture
def ua(db):
    return Party.objects.get(code="UA")


@pytest.fixture
def helicopters(db):
    return Category.objects.get(slug="helicopters")


@pytest.fixture
def artillery(db):
    return Category.objects.get(slug="artillery")


@pytest.fixture
def wallace(gb):
    return Official.objects.create(name="Ben Wallace", party=gb, title="Defence Secretary")


@pytest.fixture
def editor(db):
    """A research editor: staff, adds and changes ledger records, not a superuser."""
    user = User.objects.create_user("editor", password="editor-pass-123", is_staff=True)
    codenames = [
        f"{action}_{model}"
        for action in ("add", "change", "view")
        for model in ("pledge", "line", "official", "itemtype", "itemalias", "category", "party")
    ] + [
        f"{action}_{model}"
        for action in ("add", "change", "view")
        for model in ("source", "pledgesource")
    ]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def reviewer(db):
    """A member of the reviewers group (seeded by a migration): edits, verifies, withdraws."""
    return member("reviewer", "reviewers")


def member(username: str, role: str) -> User:
    """A staff user whose only permissions are those of one role's group."""
    user = User.objects.create_user(username, password=f"{username}-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("admin", "admin@example.org", "admin-pass-123")


@pytest.fixture
def article(db):
    return Source.objects.create(
        title=SEED_TITLE,
        publisher="Daily Express",
        kind=Source.Kind.NEWS_REPORT,
    )


@pytest.fixture
def make_pledge(gb, ua, article, editor):
    """Create a pledge through the service; keyword arguments override the pledge's fields.
    It is verified (public) unless `review="draft"`."""

    def make(lines=None, links=None, review="verified", **fields):
        fields = {
            "donor": gb,
            "recipient": ua,
            "announced_on": datetime.date(2022, 11, 23),
            **fields,
        }
        lines = lines or [
            Line(
                description="Sea King helicopters",
                category=Category.objects.get(slug="helicopters"),
                quantity=3,
            )
        ]
        links = links or [PledgeSource(source=article, role=PledgeSource.Role.ANNOUNCEMENT)]
        if review == Pledge.Review.VERIFIED:
            fields |= {"review": review, "reviewed_at": datetime.datetime.now(datetime.UTC)}
        return pledge_create(actor=editor, lines=lines, links=links, **fields)

    return make


# Real-browser tests: Playwright driving Debian's Chromium. Without a browser they skip, saying why;
# under CI (CI=true) a missing browser fails the run instead, so the tests cannot silently vanish.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def no_browser(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}. Browser tests must run under CI (CI=true), not skip.", pytrace=False
        )
    pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture
def browser_page(live_server, monkeypatch):
    """A Chromium page whose relative URLs go to the live server, closed after the test."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        no_browser(f"the playwright package cannot be imported ({error})")
    if not os.access(CHROMIUM, os.X_OK):
        no_browser(f"no Chromium at {CHROMIUM} (Debian package: chromium)")
    # Playwright's sync API runs an event loop in this thread. The ORM calls the test makes while
    # the browser is open are still plain synchronous code, so Django is told to allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as error:
            no_browser(f"Chromium at {CHROMIUM} does not start: {error.message.splitlines()[0]}")
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 1000}
        )
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # With a loop running, Django keeps connections per context rather than per thread, so
            # the test's queries opened a second connection: close it, or PostgreSQL refuses to
            # drop the test database ("being accessed by other users").
            connections.close_all()


def row_counts() -> dict[str, int]:
    """Rows of every table a pledge write touches, history included."""
    return {
        "pledges": Pledge.objects.count(),
        "lines": Line.objects.count(),
        "links": PledgeSource.objects.count(),
        "pledge history": Pledge.history.count(),
        "line history": Line.history.count(),
        "link history": PledgeSource.history.count(),
    }


# --- API ----------------------------------------------------------------------------------------


@pytest.fixture
def reader(db):
    """Logged in but holding no permission: may read the API, may not write to it."""
    return User.objects.create_user("reader", password="reader-pass-123")
