"""Markup typed into names and titles is shown as text everywhere, never run (issue 7)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aid.models import Category, Line, Official
from sources.models import PledgeSource, Source
from tests.factories import csv_text, row

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW = ("<script>alert", "<img src=x")


@pytest.fixture
def marked_up(make_pledge, gb, settings, tmp_path):
    """A pledge whose official, package, notes, line, category and source all carry markup."""
    settings.LEDGER_IMPORT_DIR = tmp_path / "imports"
    category = Category.objects.create(slug="marked", name=MARKUP)
    official = Official.objects.create(name=MARKUP, party=gb, title=MARKUP)
    source = Source.objects.create(url="https://example.org/x", title=MARKUP, publisher=MARKUP)
    return make_pledge(
        official=official,
        package=MARKUP,
        notes=MARKUP,
        announced_on=datetime.date(2023, 3, 1),
        lines=[
            Line(
                description=MARKUP,
                category=category,
                quantity=2,
                value=1000,
                currency="EUR",
                value_basis="stated",
            )
        ],
        links=[PledgeSource(source=source, quote=MARKUP)],
    )


def assert_escaped(response):
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    for raw in RAW:
        assert raw not in text
    assert "&lt;script&gt;" in text or "\\u003Cscript\\u003E" in text or "&lt;img" in text


@pytest.mark.parametrize(
    "page",
    [
        "/admin/aid/pledge/",
        "/admin/aid/pledge/{pk}/change/",
        "/admin/aid/pledge/{pk}/history/",
        "/admin/aid/official/",
        "/admin/aid/category/",
        "/admin/sources/source/",
        "/admin/sources/source/{source}/change/",
        "/admin/totals/?columns=category",
        "/admin/totals/?columns=period&measure=quantity",
        "/api/v1/pledges/{pk}/?format=api",
        "/api/v1/lines/?format=api",
    ],
)
def test_pages_show_markup_as_text(admin_client, marked_up, page):
    source = marked_up.source_links.get().source_id
    assert_escaped(admin_client.get(page.format(pk=marked_up.pk, source=source)))


@pytest.mark.parametrize(
    "cells",
    [{"pledge_ref": MARKUP}, {"donor": MARKUP}],  # in the plan table; in an error's value
)
def test_the_import_preview_shows_markup_as_text(admin_client, marked_up, cells):
    text = csv_text(row(**cells))
    upload = SimpleUploadedFile("lines.csv", text.encode(), content_type="text/csv")
    response = admin_client.post("/admin/aid/pledge/import-lines/", {"file": upload})
    assert_escaped(response)
