"""Fixtures shared by the suite: parties from the seed migration, users and a minimal pledge."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User

from aid.models import Category, Line, Official, Party
from aid.services import pledge_create
from sources.models import PledgeSource, Source


@pytest.fixture
def gb(db):
    return Party.objects.get(code="GB")


@pytest.fixture
def ua(db):
    return Party.objects.get(code="UA")


@pytest.fixture
def wallace(gb):
    return Official.objects.create(name="Ben Wallace", party=gb, title="Defence Secretary")


@pytest.fixture
def editor(db):
    """A research editor: staff, with permission to add and change ledger records, not a superuser."""
    user = User.objects.create_user("editor", password="editor-pass-123", is_staff=True)
    codenames = [
        f"{action}_{model}"
        for action in ("add", "change", "view")
        for model in ("pledge", "line", "official", "itemtype", "itemalias", "category", "party")
    ] + [f"{action}_{model}" for action in ("add", "change", "view") for model in ("source", "pledgesource")]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("admin", "admin@example.org", "admin-pass-123")


@pytest.fixture
def article(db):
    return Source.objects.create(
        title="Russian recruits escape military training camp in fresh humiliation for Vladimir Putin",
        publisher="Daily Express",
        kind=Source.Kind.NEWS_REPORT,
    )


@pytest.fixture
def make_pledge(gb, ua, article, editor):
    """Create a pledge through the service; keyword arguments override the pledge's fields."""

    def make(lines=None, links=None, **fields):
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
        return pledge_create(actor=editor, lines=lines, links=links, **fields)

    return make
