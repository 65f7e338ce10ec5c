"""A data editor enters a pledge in the admin through a real Chromium, autocomplete widgets and all.

The live server needs a transactional database, which Django empties after each test; the seeded
parties and categories are put back before each test by the seed migration's own function
(`serialized_rollback` would do it too, but would copy the 220,000 stored exchange rates each time).
"""

import importlib
import os
import re
from pathlib import Path

import pytest
from django.apps import apps

from aid.models import Category, ItemAlias, ItemType, Line, Pledge
from tests.browser import expect, log_in, watch_for_breakage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEED = importlib.import_module("aid.migrations.0002_seed_parties_and_categories")


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    SEED.seed(apps, None)


SCREENSHOTS = Path(os.environ.get("LEDGER_SCREENSHOT_DIR", "/tmp"))


def choose(page, field_id: str, typed: str, option: str) -> None:
    """Pick `option` (its whole text) in the select2 autocomplete of the <select> `field_id`."""
    widget = page.locator(f"#{field_id} + .select2")
    widget.locator(".select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(typed)
    exactly = re.compile(f"^{re.escape(option)}$")
    page.locator(".select2-results__option", has_text=exactly).click()
    # The rendered choice carries a "×" clear button before the text.
    expect(widget.locator(".select2-selection__rendered")).to_have_text(
        re.compile(f"{re.escape(option)}$")
    )


@pytest.fixture
def sea_king(db):
    item_type = ItemType.objects.create(
        name="Westland Sea King", category=Category.objects.get(slug="multirole-helicopters")
    )
    ItemAlias.objects.create(item_type=item_type, alias="Sea King")
    return item_type


def test_editor_adds_pledge_with_autocomplete_widgets(
    editor, wallace, article, sea_king, ua, browser_page
):
    page = browser_page
    problems = watch_for_breakage(page)
    log_in(page, "editor", "editor-pass-123", "/admin/aid/pledge/add/")

    # The form is styled and its scripts ran: select2 replaced the plain selects.
    expect(page.locator("#id_donor + .select2")).to_be_visible()
    assert page.locator("#header").evaluate("e => getComputedStyle(e).display") == "flex"

    choose(page, "id_donor", "United Kingdom", "United Kingdom (GB)")
    assert page.locator("#id_recipient").input_value() == str(ua.pk)
    expect(page.locator("#id_recipient + .select2 .select2-selection__rendered")).to_contain_text(
        "Ukraine (UA)"
    )
    page.fill("#id_announced_on", "2022-11-23")
    choose(page, "id_official", "Wallace", "Ben Wallace (GB)")

    page.fill("#id_lines-0-description", "Sea King helicopters")
    choose(page, "id_lines-0-item_type", "Sea King", "Westland Sea King")
    page.fill("#id_lines-0-quantity", "3")

    page.fill("#id_lines-1-description", "artillery rounds")
    choose(page, "id_lines-1-category", "artillery ammunition", "Artillery ammunition (Ammunition)")
    page.select_option("#id_lines-1-unit", "rounds")

    choose(page, "id_source_links-0-source", "Russian recruits", article.title)
    page.fill("#id_source_links-0-quote", "three Sea King helicopters")
    page.screenshot(path=SCREENSHOTS / "ledger-pledge-form.png", full_page=True)

    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    page.screenshot(path=SCREENSHOTS / "ledger-pledge-saved.png", full_page=True)
    row = page.locator("#result_list tbody tr", has_text="Sea King helicopters")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2022-11-23")
    expect(row).to_contain_text("3 Sea King helicopters; artillery rounds")

    # Searching by the source's title finds it too.
    page.fill("#searchbar", "fresh humiliation")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr", has_text="Sea King helicopters")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "ledger-pledge-list.png", full_page=True)
    assert problems == []

    pledge = Pledge.objects.get()
    assert (pledge.donor.code, pledge.recipient.code) == ("GB", "UA")
    assert pledge.official == wallace
    assert pledge.official_title == "Defence Secretary"
    sea_kings, rounds = pledge.lines.order_by("line_no")
    assert (sea_kings.item_type, sea_kings.category.slug) == (sea_king, "multirole-helicopters")
    assert (sea_kings.quantity, sea_kings.quantity_qualifier) == (3, Line.Qualifier.EXACT)
    assert rounds.category.slug == "artillery-ammunition"
    assert (rounds.quantity, rounds.quantity_qualifier, rounds.unit) == (
        None,
        Line.Qualifier.UNSPECIFIED,
        "rounds",
    )
    assert [link.source for link in pledge.source_links.all()] == [article]
    assert pledge.history.get().history_user == editor
    assert {line.history_user for line in Line.history.filter(pledge_id=pledge.pk)} == {editor}


def test_negative_quantity_is_shown_on_the_form(editor, article, browser_page):
    page = browser_page
    log_in(page, "editor", "editor-pass-123", "/admin/aid/pledge/add/")
    choose(page, "id_donor", "United Kingdom", "United Kingdom (GB)")
    page.fill("#id_announced_on", "2022-11-23")
    page.fill("#id_lines-0-description", "Sea King helicopters")
    choose(page, "id_lines-0-category", "helicopters", "Helicopters")
    page.fill("#id_lines-0-quantity", "-3")
    choose(page, "id_source_links-0-source", "Russian recruits", article.title)

    page.click("input[name=_save]")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("#lines-group .errorlist")).to_have_text(
        "Quantity must be a positive whole number; leave it empty when the source gives none."
    )
    expect(page.locator("#id_lines-0-quantity")).to_have_value("-3")
    page.screenshot(path=SCREENSHOTS / "ledger-pledge-error.png", full_page=True)
    assert not Pledge.objects.exists()
