"""Bad input found by probing: each refused with a 4xx naming the field, never a 500, no write."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from knox.models import AuthToken
from pytest_django.asserts import assertContains
from rest_framework.test import APIClient

from aid.models import Line, Pledge, RateTable
from aid.rates.convert import ecb_range
from aid.services import pledge_withdraw, reason_max_length
from tests.conftest import row_counts
from tests.factories import csv_text, row, run

CHANGELIST = "/admin/aid/pledge/"


def token_client(user) -> tuple[APIClient, str]:
    client = APIClient()
    _, token = AuthToken.objects.create(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client, token


def assert_refused(client: APIClient) -> None:
    """A revoked token authenticates nobody (403 rather than 401: session auth is tried first)."""
    response = client.post("/api/v1/officials/", {}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid token."


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/pledges/"),
        ("post", "/api/v1/sources/"),
        ("post", "/api/v1/officials/"),
        ("put", "/api/v1/pledges/{pk}/"),
        ("patch", "/api/v1/pledges/{pk}/"),
    ],
)
def test_json_nested_a_thousand_deep_is_a_400_not_a_500(reviewer, make_pledge, method, path):
    pledge = make_pledge()
    client, _ = token_client(reviewer)
    body = '{"ref": ' + nested(1000) + "}"
    before = row_counts()
    response = getattr(client, method)(
        path.format(pk=pledge.pk), body, content_type="application/json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert row_counts() == before


def test_a_withdraw_reason_longer_than_its_column_is_refused_by_api_admin_and_service(
    client, reviewer, make_pledge
):
    pledge = make_pledge()
    too_long = "x" * (reason_max_length(Pledge) + 1)
    api, _ = token_client(reviewer)

    response = api.post(f"/api/v1/pledges/{pledge.pk}/withdraw/", {"reason": too_long})
    assert response.status_code == 400
    assert "reason" in response.json()

    client.force_login(reviewer)
    selected = {"action": "withdraw", "_selected_action": [pledge.pk], "reason": too_long}
    response = client.post(CHANGELIST, selected)
    assert response.status_code == 200
    assertContains(response, "Ensure this value has at most")

    with pytest.raises(ValidationError) as refused:
        pledge_withdraw(actor=reviewer, pledge=pledge, reason=too_long)
    assert "reason" in refused.value.message_dict
    pledge.refresh_from_db()
    assert pledge.status != Pledge.Status.WITHDRAWN


@pytest.mark.parametrize("ref", ["=1+2", "ref/../x", "a b", "<x>"])
def test_a_ref_outside_the_pattern_is_refused_by_model_api_and_importer(
    reviewer, editor, make_pledge, ref
):
    pledge = make_pledge()
    pledge.ref = ref
    with pytest.raises(ValidationError) as refused:
        pledge.full_clean()
    assert "ref" in refused.value.message_dict

    api, _ = token_client(reviewer)
    response = api.patch(
        f"/api/v1/pledges/{pledge.pk}/", {"ref": ref}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 400
    assert "ref" in response.json()

    before = row_counts()
    report = run(csv_text(row(pledge_ref=ref)), editor)
    assert [p.column for p in report.errors] == ["pledge_ref"]
    assert row_counts() == before


@pytest.mark.parametrize("ref", ["kiel-r7-123", "pun-gb-2022-03-01", "GB-2022-a1b2c3", "a:b_c.d"])
def test_refs_the_ledger_makes_fit_the_pattern(make_pledge, ref):
    make_pledge(ref=ref).full_clean()


def test_set_password_revokes_api_tokens(editor):
    client, _ = token_client(editor)
    editor.set_password("a-new-pass-456")
    editor.save()
    assert not AuthToken.objects.filter(user=editor).exists()
    assert_refused(client)


def test_an_unrelated_save_keeps_api_tokens(editor):
    token_client(editor)
    editor.first_name = "Ed"
    editor.save()
    assert AuthToken.objects.filter(user=editor).exists()


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_admin_user_form_password_change_or_deactivation_revokes_tokens(
    client, admin_user, editor, change
):
    api, _ = token_client(editor)
    client.force_login(admin_user)
    if change == "password":
        url = f"/admin/auth/user/{editor.pk}/password/"
        data = {"password1": "Another-pass-789", "password2": "Another-pass-789"}
    else:
        url = f"/admin/auth/user/{editor.pk}/change/"
        data = {
            "username": editor.username,
            "is_staff": "on",
            "date_joined_0": "2022-01-01",
            "date_joined_1": "00:00:00",
        }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    editor = User.objects.get(pk=editor.pk)
    assert not AuthToken.objects.filter(user=editor).exists()
    assert_refused(api)


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XDR", "xbA"])
def test_an_iso_code_that_is_not_money_is_refused_on_every_path(
    editor, make_pledge, tmp_path, code
):
    line = Line(description="bullion", value=Decimal(5), currency=code, value_basis="stated")
    with pytest.raises(ValidationError) as refused:
        line.clean_fields(exclude=["pledge", "category", "line_no"])
    assert "not money" in str(refused.value.message_dict["currency"])

    before = row_counts()
    report = run(csv_text(row(value="5", currency=code, value_basis="stated")), editor)
    assert [(p.column, "not money" in str(p)) for p in report.errors] == [("currency", True)]
    assert row_counts() == before

    make_pledge()
    response = APIClient().get("/api/v1/totals/", {"currency": code})
    assert response.status_code == 400
    assert "not money" in response.json()["currency"][0]

    rates = tmp_path / "rates.csv"
    rates.write_text(f"currency,per_eur\nUSD,1.2\n{code},0.0005\n", encoding="utf-8")
    with pytest.raises(CommandError, match="row 3, column currency"):
        call_command("load_rates", "bullion", str(rates), stdout=StringIO())
    assert not RateTable.objects.filter(name="bullion").exists()


@pytest.mark.parametrize("day", ["1990-01-01", "2199-12-31"])
def test_an_fx_date_outside_the_stored_rates_is_a_400_naming_the_range(
    client, editor, make_pledge, day
):
    make_pledge()
    first, last = ecb_range()
    response = APIClient().get("/api/v1/totals/", {"fx": day})
    assert response.status_code == 400
    assert f"outside the stored ECB rates ({first} to {last})" in response.json()["fx"][0]
    within = APIClient().get("/api/v1/totals/", {"fx": str(last)})
    assert within.status_code == 200

    client.force_login(editor)
    page = client.get("/admin/totals/", {"fx": day})
    assertContains(page, f"outside the stored ECB rates ({first} to {last})")
