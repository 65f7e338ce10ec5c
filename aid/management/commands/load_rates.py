"""`manage.py load_rates`: reload the ECB rates, or store a named table of rates from a CSV file."""

import csv
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from aid.fx import load_ecb, load_table


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
            self.stdout.write(f"Loaded {load_ecb()} ECB reference rates.")
            return
        if not (name and file):
            raise CommandError("Give NAME and FILE, or --ecb.")
        if name == "ecb":
            raise CommandError("“ecb” is reserved for the ECB reference rates; use --ecb.")
        rates, errors = {}, []
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"currency", "per_eur"} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"{file}: missing column(s) {', '.join(sorted(missing))}.")
            for number, row in enumerate(reader, start=2):
                code = row["currency"].strip().upper()
                try:
                    rate = Decimal(row["per_eur"].strip())
                except InvalidOperation:
                    errors.append(
                        f"row {number}, column per_eur: not a number ({row['per_eur']!r})"
                    )
                    continue
                if rate <= 0:
                    errors.append(f"row {number}, column per_eur: must be positive ({rate})")
                if code in rates:
                    errors.append(f"row {number}, column currency: {code} given twice")
                rates[code] = rate
        if errors:
            raise CommandError("Nothing loaded:\n" + "\n".join(errors))
        try:
            table = load_table(name, rates, description)
        except ValidationError as error:
            raise CommandError(f"Nothing loaded: {'; '.join(error.messages)}") from error
        self.stdout.write(f"Loaded {len(rates)} rates into the table “{table.name}”.")
