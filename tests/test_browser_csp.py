"""The Content Security Policy does not break any page: the admin, the totals page with its chart
and its scripts, the browsable API and Swagger UI run in a real Chromium with no violation."""

import importlib
import re

import pytest
from django.apps import apps

from tests.browser import expect, log_in, watch_for_breakage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEED = importlib.import_module("aid.migrations.0002_seed_parties_and_categories")

# Recorded before any page script runs, whatever the policy lets the page itself do.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    SEED.seed(apps, None)


def test_every_kind_of_page_works_under_the_policy(admin_user, make_pledge, browser_page):
    pledge = make_pledge()
    page = browser_page
    page.context.add_init_script(RECORD_VIOLATIONS)
    problems = watch_for_breakage(page)
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    policies = []
    page.on(
        "response",
        lambda response: (
            response.request.resource_type == "document"
            and policies.append(response.headers.get("content-security-policy"))
        ),
    )
    log_in(page, "admin", "admin-pass-123", "/admin/")

    def violations() -> list[str]:
        return page.evaluate("window.__violations")

    # The admin's change form: select2 autocompletes and inlines are scripts from the admin.
    page.goto(f"/admin/aid/pledge/{pledge.pk}/change/")
    expect(page.locator("#id_donor + .select2")).to_be_visible()
    expect(page.locator("#lines-group .add-row a")).to_be_visible()
    assert violations() == []

    # The totals page: its nonce'd style block applies, the filter widgets' script ran, the
    # inline SVG chart is drawn.
    page.goto("/admin/totals/?measure=quantity&group_by=donor")
    expect(page.locator("svg.totals-chart")).to_have_count(1)
    expect(page.locator("#id_donor_from")).to_be_visible()  # SelectFilter2 built the widget
    gap = page.locator(".totals-choose").evaluate("e => getComputedStyle(e).display")
    assert gap == "flex"
    assert violations() == []

    # The browsable API: Bootstrap and jQuery from static files, style attributes in templates.
    page.goto("/api/v1/pledges/")
    expect(page.locator(".response-info")).to_be_visible()
    assert page.evaluate("typeof window.jQuery") == "function"
    float_right = page.locator("form.button-form, .dropdown[style]").first
    assert float_right.evaluate("e => getComputedStyle(e).cssFloat") in {"right", "none"}
    assert violations() == []

    # Swagger UI from drf-spectacular-sidecar: its start-up script carries the nonce.
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui .opblock-tag", has_text="pledges").first).to_be_visible()
    assert violations() == []

    assert problems == []
    assert not [line for line in console if re.search("Content.Security.Policy", line)], console
    assert policies and all(policy and "script-src 'self'" in policy for policy in policies)
