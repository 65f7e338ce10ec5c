"""`as_of`: the published ledger as it stood at a moment, from history (aid/as_of.py)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from aid.models import Line, Pledge
from aid.services import pledge_save, pledges_verify
from tests.factories import TOTALS, csv_of


def at(moment: datetime.datetime) -> str:
    return moment.isoformat()


def publish_quantity(pledge: Pledge, quantity: int, editor, reviewer) -> datetime.datetime:
    """Change the first line's quantity and publish it; the moment just before publishing."""
    lines = list(pledge.lines.order_by("line_no"))
    lines[0].quantity = quantity
    revision = pledge_save(
        actor=editor, pledge=pledge, lines=lines, links=list(pledge.source_links.all())
    )
    before = timezone.now()
    pledges_verify(actor=reviewer, pledges=[revision])
    return before


@pytest.fixture
def history(make_pledge, helicopters, editor, reviewer):
    """Published with 3 helicopters, then 5, then 7; a moment inside each state."""
    before_anything = timezone.now()
    pledge = make_pledge(
        lines=[
            Line(description="Sea Kings", category=helicopters, quantity=3,
                 value=Decimal("1000.50"), currency="GBP", value_basis="stated"),
        ],
    )  # fmt: skip
    with_3 = timezone.now()
    with_5 = (publish_quantity(pledge, 5, editor, reviewer), timezone.now())[1]
    publish_quantity(Pledge.objects.get(pk=pledge.pk), 7, editor, reviewer)
    return pledge, before_anything, with_3, with_5


def quantities(client, **params) -> list[int]:
    rows = client.get("/api/v1/lines/", params).json()["results"]
    return [row["quantity"] for row in rows]


def test_as_of_now_is_the_current_answer(client, history):
    now = at(timezone.now())
    assert quantities(client, as_of=now) == quantities(client) == [7]
    assert client.get(TOTALS, {"as_of": now}).json() == client.get(TOTALS).json()
    current = client.get("/api/v1/lines/", {"format": "csv"})
    then = client.get("/api/v1/lines/", {"format": "csv", "as_of": now})
    assert b"".join(then.streaming_content) == b"".join(current.streaming_content)


def test_before_its_first_publication_a_pledge_is_absent(client, history):
    _, before_anything, *_ = history
    assert quantities(client, as_of=at(before_anything)) == []
    [grand] = client.get(TOTALS, {"as_of": at(before_anything)}).json()["rows"]
    assert (grand["lines"], grand["value"]) == (0, None)


def test_between_two_publications_the_earlier_figures_show(client, history):
    _, _, with_3, with_5 = history
    assert quantities(client, as_of=at(with_3)) == [3]
    assert quantities(client, as_of=at(with_5)) == [5]
    measure = {"measure": "quantity", "group_by": "donor"}
    [row] = client.get(TOTALS, {**measure, "as_of": at(with_3)}).json()["rows"]
    assert row["quantity"] == 3


def test_totals_as_of_add_up_the_lines_as_of(client, history):
    _, _, with_3, _ = history
    [line] = csv_of(client.get("/api/v1/lines/", {"as_of": at(with_3), "format": "csv"}))
    answer = client.get(TOTALS, {"as_of": at(with_3), "currency": "GBP", "fx": "2022-11-23"})
    [total] = answer.json()["total"]
    assert Decimal(total["value"]) == Decimal(line["value"]) == Decimal("1000.50")
    [total] = client.get(TOTALS, {"as_of": at(with_3)}).json()["total"]
    euros = total["value"]
    assert Decimal(euros) == Decimal(line["value_eur"]).quantize(Decimal("0.01"))


def test_a_bad_as_of_is_a_400_naming_it(client, history, editor):
    answer = client.get(TOTALS, {"as_of": "last week"})
    assert answer.status_code == 400 and "as_of" in answer.json()
    client.force_login(editor)
    answer = client.get("/api/v1/lines/", {"as_of": "2024-01-01", "review": "draft"})
    assert answer.status_code == 400 and "no drafts" in answer.json()["as_of"][0]
