"""`manage.py load_rates`: reload the ECB rates, or store a named table of rates from a CSV file."""

import csv
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction

from aid.models import ECB, Rate
from aid.rates.convert import convert_lines, load_ecb, load_table


class Command(BaseCommand):
    help = (
        "Reload the ECB reference rates (--ecb), or load NAME from FILE: a CSV with the columns "
        "`currency` and `per_eur` (units of the currency one euro buys)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Name of the rate table, e.g. kiel-ust-r7.")
        parser.add_argument("file", nargs="?", help="CSV file with currency,per_eur columns.")
        parser.add_argument("--ecb", action="store_true", help="Reload the ECB reference rates.")
        parser.add_argument("--description", default="", help="What the table is and its source.")

    def handle(self, *args, name=None, file=None, ecb=False, description="", **options):
        if ecb:
            with transaction.atomic():
                loaded = load_ecb()
                convert_lines()  # every line's value in EUR, at the new rates
            self.stdout.write(f"Loaded {loaded} ECB reference rates.")
            return
        if not (name and file):
            raise CommandError("Give NAME and FILE, or --ecb.")
        if name == ECB:
            raise CommandError("“ecb” is reserved for the ECB reference rates; use --ecb.")
        try:
            validate_slug(name)
        except ValidationError as error:
            raise CommandError(f"“{name}” is not a table name: {error.messages[0]}") from error
        try:
            rates, errors = read_rates(file)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{file}: cannot be read as a UTF-8 CSV file ({error}).") from error
        if errors:
            raise CommandError("Nothing loaded:\n" + "\n".join(errors))
        try:
            table = load_table(name, rates, description)
        except ValidationError as error:
            raise CommandError(f"Nothing loaded: {'; '.join(error.messages)}") from error
        self.stdout.write(f"Loaded {len(rates)} rates into the table “{table.name}”.")


def read_rates(file: str) -> tuple[dict[str, Decimal], list[str]]:
    """The rates of a `currency,per_eur` CSV file, and every problem by row and column."""
    rates, errors = {}, []
    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"currency", "per_eur"} - set(reader.fieldnames or [])
        if missing:
            return {}, [f"missing column(s) {', '.join(sorted(missing))}"]
        for number, row in enumerate(reader, start=2):
            code = cell(row, "currency", number, errors)
            rate = cell(row, "per_eur", number, errors)
            if rate is not None and rate <= 0:
                errors.append(f"row {number}, column per_eur: must be positive ({rate})")
            if code is not None and code in rates:
                errors.append(f"row {number}, column currency: {code} given twice")
            rates[code] = rate
    if not rates and not errors:
        errors.append("no rows: a table needs at least one rate")
    return rates, errors


def cell(row: dict, column: str, number: int, errors: list[str]):
    """A cell cleaned by the Rate model's own field (type, size, currency code), or None."""
    text = (row[column] or "").strip()
    if column == "currency":
        text = text.upper()
    try:
        return Rate._meta.get_field(column).clean(text, None)
    except ValidationError as error:
        errors += [f"row {number}, column {column}: {message}" for message in error.messages]
        return None
