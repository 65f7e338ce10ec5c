"""ISO code lists from pycountry, so that no country or currency code is ever typed by hand."""

from functools import cache

import pycountry
from django.core.exceptions import ValidationError

# Organisations that pledge or receive aid beside states; codes that do not clash with ISO 3166.
ORGANISATIONS = {
    "EU": "European Union",
    "NATO": "North Atlantic Treaty Organization",
}


def country_parties() -> list[tuple[str, str]]:
    """(code, name) for every ISO 3166-1 country, by its common name where it has one."""
    return [
        (country.alpha_2, getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    ]


# ISO 4217 codes that are not money: precious metals, bond-market units, the IMF's units of
# account, and the codes for testing and for "no currency". A value in one of them is no value a
# researcher can add up, so every path that takes a currency refuses them (they are absent below).
NOT_MONEY = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


@cache
def currencies() -> dict[str, str]:
    """The ISO 4217 currencies that are money: every path that takes a currency checks this."""
    return {
        currency.alpha_3: currency.name
        for currency in pycountry.currencies
        if currency.alpha_3 not in NOT_MONEY
    }


def not_money(code: str) -> str:
    """Why an ISO 4217 code that is not money is refused, for the error message."""
    return f"is the ISO 4217 code for {pycountry.currencies.get(alpha_3=code).name}, not money"


def currency_choices() -> list[tuple[str, str]]:
    common = ["EUR", "USD", "GBP", "CAD", "AUD", "JPY", "CHF", "NOK", "SEK", "DKK", "PLN", "CZK"]
    rest = sorted(code for code in currencies() if code not in common)
    return [(code, f"{code} – {currencies()[code]}") for code in common + rest]


def validate_currency(code: str) -> None:
    # Case is not an error: `Line.clean()` upper-cases the code after the field validators run.
    code = code.strip().upper() if code else code
    if code in NOT_MONEY:
        raise ValidationError(
            "“%(code)s” %(why)s.",
            code="not_money",
            params={"code": code, "why": not_money(code)},
        )
    if code and code not in currencies():
        raise ValidationError(
            "“%(code)s” is not an ISO 4217 currency code (e.g. EUR, USD, GBP).",
            code="unknown_currency",
            params={"code": code},
        )


@cache
def languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def validate_language(code: str) -> None:
    # Case is not an error: `Source.clean()` lower-cases the code after the field validators run.
    if code and code.strip().lower() not in languages():
        raise ValidationError(
            "“%(code)s” is not an ISO 639-1 language code (e.g. en, uk, de).",
            code="unknown_language",
            params={"code": code},
        )
