"""Random sequences of edits, send-backs and publications: after every step the public sees
exactly what was last published, the team's "ledger as it will be" sees the pending change, and
no total counts a pledge twice (aid/revisions.py); afterwards, the ledger as of each step's
moment is what was published then, and its totals add up its lines (aid/as_of.py)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from aid.models import Category, Line, Pledge
from aid.revisions import pledge_send_back
from aid.services import pledge_create, pledge_save, pledges_verify
from sources.models import PledgeSource
from tests.factories import TOTALS, db_property

steps = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.sampled_from([1, 2]), st.integers(1, 50)),
        st.tuples(st.just("publish")),
        st.tuples(st.just("send back")),
    ),
    min_size=1,
    max_size=8,
)


def quantities(pledge: Pledge) -> dict[int, int]:
    return dict(pledge.lines.values_list("line_no", "quantity"))


def public_quantities(client) -> dict[str, int]:
    rows = client.get("/api/v1/lines/").json()["results"]
    return {row["line_no"]: row["quantity"] for row in rows}


def total(client, **params) -> int:
    rows = client.get(TOTALS, {"measure": "quantity", **params}).json()["rows"]
    return sum(row["quantity"] or 0 for row in rows)


@pytest.mark.django_db
@db_property(40)
@given(steps=steps)
def test_the_public_sees_what_was_published_and_nothing_counts_twice(
    steps, editor, reviewer, gb, ua, article
):
    with transaction.atomic():
        moments = [(timezone.now(), {})]  # before the pledge: absent as of then
        category = Category.objects.get(slug="helicopters")
        published = pledge_create(
            actor=editor,
            donor=gb,
            recipient=ua,
            announced_on=datetime.date(2022, 11, 23),
            review=Pledge.Review.VERIFIED,
            reviewed_at=datetime.datetime.now(datetime.UTC),
            lines=[
                Line(description="Sea Kings", category=category, quantity=3),
                Line(
                    description="spares",
                    category=category,
                    quantity=10,
                    value=Decimal(1),
                    currency="GBP",
                ),
            ],
            links=[PledgeSource(source=article)],
        )
        expected_published, expected_pending = {1: 3, 2: 10}, None
        public, team = APIClient(), APIClient()
        team.force_authenticate(editor)
        for step in steps:
            pending = Pledge.objects.filter(revision_of=published).first()
            assert (pending is None) == (expected_pending is None)
            if step[0] == "edit":
                _, line_no, quantity = step
                target = pending or Pledge.objects.get(pk=published.pk)
                lines = list(target.lines.order_by("line_no"))
                lines[line_no - 1].quantity = quantity
                pledge_save(
                    actor=editor, pledge=target, lines=lines, links=list(target.source_links.all())
                )
                edited = {**(expected_pending or expected_published), line_no: quantity}
                if expected_pending is not None or edited != expected_published:
                    expected_pending = edited
            elif step[0] == "publish" and pending is not None:
                pledges_verify(actor=reviewer, pledges=[pending])
                expected_published, expected_pending = expected_pending, None
            elif step[0] == "send back" and pending is not None:
                pledge_send_back(actor=reviewer, pledge=pending, note="Check the source.")

            assert quantities(Pledge.objects.get(pk=published.pk)) == expected_published
            assert public_quantities(public) == expected_published
            assert total(public) == sum(expected_published.values())
            as_it_will_be = expected_pending or expected_published
            assert total(team, review=["draft", "verified"]) == sum(as_it_will_be.values())
            assert Pledge.objects.filter(revision_of=published).count() <= 1
            moments.append((timezone.now(), expected_published))
        # The ledger as of each moment is what was published then (aid/as_of.py).
        for moment, then in moments:
            as_of = {"as_of": moment.isoformat()}
            rows = public.get("/api/v1/lines/", as_of).json()["results"]
            assert {row["line_no"]: row["quantity"] for row in rows} == then
            assert total(public, **as_of) == sum(then.values())
        transaction.set_rollback(True)
