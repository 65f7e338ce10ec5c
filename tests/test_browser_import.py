"""A data editor imports a lines CSV through the admin in a real Chromium: upload, preview, confirm.

As in test_browser.py, the live server needs a transactional database, and the seeded parties and
categories are put back before each test by the seed migration's own function.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps

from aid.models import Pledge
from tests.browser import expect, log_in, watch_for_breakage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEED = importlib.import_module("aid.migrations.0002_seed_parties_and_categories")
SCREENSHOTS = Path(os.environ.get("LEDGER_SCREENSHOT_DIR", "/tmp"))

GOOD = (
    "pledge_ref,donor,recipient,announced_on,item,category,quantity,unit,value,currency,"
    "value_basis,source_urls\r\n"
    "BRW-1,GB,UA,2022-11-23,Sea King helicopters,helicopters,3,units,1000,GBP,stated,"
    "https://example.org/sea-kings\r\n"
    "BRW-1,GB,UA,2022-11-23,artillery rounds,artillery,,rounds,,,,"
    "https://example.org/sea-kings\r\n"
    "BRW-2,US,UA,2023-01-10,M777 howitzers,towed-artillery,18,units,,,,"
    "https://example.org/howitzers\r\n"
)
BAD = (
    "pledge_ref,donor,recipient,announced_on,item,category,quantity,source_urls\r\n"
    "BRW-3,GB,UA,2022-11-23,Sea King helicopters,helicopters,3,https://example.org/a\r\n"
    "BRW-4,GB,UA,2022-11-24,Javelin missiles,missiles,-3,https://example.org/b\r\n"
)


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    SEED.seed(apps, None)


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.LEDGER_IMPORT_DIR = tmp_path / "imports"


def upload(page, name: str, text: str) -> None:
    page.set_input_files(
        "#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )
    page.click("#import-upload")


def test_editor_imports_lines_from_the_pledge_list(editor, browser_page):
    page = browser_page
    problems = watch_for_breakage(page)
    log_in(page, "editor", "editor-pass-123", "/admin/aid/pledge/")

    page.click("text=Import lines (CSV)")
    page.wait_for_url("**/admin/aid/pledge/import-lines/")
    upload(page, "sea-kings.csv", GOOD)

    expect(page.locator("#import-checked")).to_contain_text("3 rows checked, no errors")
    plans = page.locator("#import-plans tbody tr")
    expect(plans).to_have_count(2)
    expect(plans.nth(0)).to_contain_text("BRW-1")
    expect(plans.nth(0).locator(".action-create")).to_have_text("create")
    expect(plans.nth(1)).to_contain_text("BRW-2")
    expect(page.locator("#import-counts")).to_contain_text("Pledges")
    page.screenshot(path=SCREENSHOTS / "ledger-import-preview.png", full_page=True)
    assert not Pledge.objects.exists()

    page.click("#import-confirm-button")
    page.wait_for_url("**/admin/aid/pledge/")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "From sea-kings.csv: Imported 3 rows"
    )
    expect(page.locator("#result_list tbody tr", has_text="BRW-1")).to_contain_text(
        "3 Sea King helicopters; artillery rounds"
    )
    expect(page.locator("#result_list tbody tr", has_text="BRW-2")).to_contain_text(
        "18 M777 howitzers"
    )
    assert problems == []
    assert {pledge.history.get().history_user for pledge in Pledge.objects.all()} == {editor}

    page.click("text=Import lines (CSV)")
    upload(page, "bad.csv", BAD)
    expect(page.locator("#import-refused")).to_contain_text("Nothing was imported")
    expect(page.locator("#import-errors")).to_contain_text("row 3, column quantity")
    expect(page.locator("#id_file")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "ledger-import-errors.png", full_page=True)
    assert sorted(Pledge.objects.values_list("ref", flat=True)) == ["BRW-1", "BRW-2"]
