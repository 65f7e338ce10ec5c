"""The demo ledger: every fact of the fixture arrives once, the seed re-announcement is not counted
twice, and loading again changes nothing."""

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum

from aid.demo.loader import CATEGORIES, DATA, load_demo
from aid.models import Line, Pledge
from sources.models import PledgeSource, Source
from tests.conftest import SEED_TITLE

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "protectukrainenow"


def rows(name):
    with open(DATA / name, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_fixture_lives_in_the_project_and_matches_the_shared_data():
    """`make run` must work where ../shared does not exist, so the data is the project's own."""
    assert DATA.is_relative_to(Path(__file__).resolve().parent.parent)
    if not SHARED.exists():
        pytest.skip("../shared/data is absent: nothing to compare the project's copy with")
    for name in ("heavy_weapons_pledges.csv", "us_security_assistance_announcements.csv"):
        assert (DATA / name).read_bytes() == (SHARED / name).read_bytes()


def test_every_heavy_weapon_row_is_one_line_with_its_quantity(demo, db):
    expected = Counter()
    for row in rows("heavy_weapons_pledges.csv"):
        unit = CATEGORIES[row["category"]][1]
        expected[row["donor_code"].upper(), unit] += int(row["quantity"])
    item_lines = Line.objects.filter(item_type__isnull=False)
    assert item_lines.count() == len(rows("heavy_weapons_pledges.csv")) == 231
    loaded = Counter()
    for donor, unit, quantity in item_lines.values_list("pledge__donor__code", "unit", "quantity"):
        loaded[donor, unit] += quantity
    assert loaded == expected


def test_us_announcements_are_value_only_lines_in_usd_one_per_authority(demo, db):
    announcements = rows("us_security_assistance_announcements.csv")
    expected = sum(
        Decimal(row[column]) * 1_000_000
        for row in announcements
        for column in ("pda_usd_m", "usai_usd_m", "fmf_usd_m")
        if row[column]
    )
    valued = Line.objects.filter(value__isnull=False)
    assert set(valued.values_list("currency", flat=True)) == {"USD"}
    assert valued.aggregate(total=Sum("value"))["total"] == expected
    assert valued.values("pledge").distinct().count() == len(announcements) == 89
    assert not valued.filter(quantity__isnull=False).exists()
    # Rule 1: a package's items carry no value, so the package total is not counted twice.
    april = Pledge.objects.get(ref="pun-us-2022-04-13")
    assert [line.value for line in april.lines.all()][:1] == [Decimal("800000000.00")]
    assert all(line.value is None for line in april.lines.all()[1:])
    assert april.lines.filter(description="M777 155mm", quantity=18).exists()


def test_seed_article_supports_a_new_pledge_and_re_announces_an_earlier_one(demo, db):
    article = Source.objects.get(title=SEED_TITLE)
    assert article.url is None and article.publisher

    sea_kings = Pledge.objects.get(announced_on="2022-11-23", donor__code="GB")
    assert (sea_kings.official.name, sea_kings.official_title) == (
        "Ben Wallace",
        "Defence Secretary",
    )
    assert sea_kings.recipient.code == "UA"
    helicopters, rounds = sea_kings.lines.order_by("line_no")
    assert (helicopters.quantity, helicopters.item_type.name) == (3, "Westland Sea King")
    assert helicopters.category.slug == "helicopters"
    assert (rounds.quantity, rounds.quantity_qualifier, rounds.unit) == (
        None,
        "unspecified",
        "rounds",
    )
    assert set(sea_kings.source_links.values_list("source__url", flat=True)) == {
        "https://www.bbc.com/news/uk-63725431",
        None,
    }

    earlier = Pledge.objects.get(source_links__role=PledgeSource.Role.RE_ANNOUNCEMENT)
    assert (earlier.announced_on.isoformat(), earlier.date_precision) == ("2022-11-01", "month")
    assert earlier.source_links.get().source == article
    # Counted once: the restated missiles and guns exist on that one pledge only.
    assert Line.objects.filter(description="surface-to-air missiles").get().quantity == 1000
    assert Line.objects.filter(description="anti-aircraft guns").get().quantity == 125
    assert PledgeSource.objects.filter(source=article).count() == 2


def test_loading_again_creates_nothing_and_writes_no_history(db):
    call_command("load_demo")
    counts = {model: model.objects.count() for model in (Pledge, Line, Source, PledgeSource)} | {
        "history": Pledge.history.count() + Line.history.count()
    }
    second = load_demo()
    assert second["created"] == 0 and second["skipped"] == Pledge.objects.count()
    assert {model: model.objects.count() for model in (Pledge, Line, Source, PledgeSource)} | {
        "history": Pledge.history.count() + Line.history.count()
    } == counts


def test_every_demo_pledge_has_a_source_and_a_history_record(demo, db):
    assert not Pledge.objects.filter(source_links__isnull=True).exists()
    assert Pledge.history.filter(history_type="+").count() == Pledge.objects.count()
    assert set(Pledge.history.values_list("history_change_reason", flat=True)) == {"load_demo"}
