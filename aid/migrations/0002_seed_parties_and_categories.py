"""Seed the parties (every ISO 3166-1 country, plus EU and NATO) and the category taxonomy.

The taxonomy is frozen here, as it stood when the ledger was created; editors extend it in the
admin. Each level-1 entry: slug, name, aid type, UN Register category, and its level-2 children.
"""

import pycountry
from django.db import migrations

TAXONOMY = [
    ("tanks", "Tanks", "military", "I", [
        ("main-battle-tanks", "Main battle tanks"),
        ("light-tanks", "Light tanks"),
    ]),
    ("armoured-vehicles", "Armoured vehicles", "military", "II", [
        ("infantry-fighting-vehicles", "Infantry fighting vehicles"),
        ("armoured-personnel-carriers", "Armoured personnel carriers"),
        ("mrap-vehicles", "MRAP and protected patrol vehicles"),
        ("armoured-engineering-vehicles", "Armoured engineering and recovery vehicles"),
    ]),
    ("artillery", "Artillery", "military", "III", [
        ("self-propelled-artillery", "Self-propelled artillery"),
        ("towed-artillery", "Towed artillery"),
        ("multiple-rocket-launchers", "Multiple rocket launchers"),
        ("mortars", "Mortars"),
    ]),
    ("air-defence", "Air defence", "military", "VII", [
        ("long-range-air-defence", "Long-range air defence systems"),
        ("short-range-air-defence", "Short- and medium-range air defence systems"),
        ("manpads", "Man-portable air defence (MANPADS)"),
        ("anti-aircraft-guns", "Anti-aircraft guns"),
    ]),
    ("missiles", "Missiles", "military", "VII", [
        ("anti-tank-missiles", "Anti-tank guided missiles"),
        ("cruise-missiles", "Cruise missiles"),
        ("ballistic-missiles", "Ballistic missiles"),
        ("anti-ship-missiles", "Anti-ship missiles"),
        ("air-defence-missiles", "Surface-to-air missiles"),
    ]),
    ("ammunition", "Ammunition", "military", "", [
        ("artillery-ammunition", "Artillery ammunition"),
        ("tank-ammunition", "Tank ammunition"),
        ("mortar-ammunition", "Mortar ammunition"),
        ("small-arms-ammunition", "Small-arms ammunition"),
        ("rockets", "Rockets"),
    ]),
    ("aircraft", "Aircraft", "military", "IV", [
        ("combat-aircraft", "Combat aircraft"),
        ("transport-aircraft", "Transport aircraft"),
        ("trainer-aircraft", "Trainer aircraft"),
    ]),
    ("helicopters", "Helicopters", "military", "V", [
        ("attack-helicopters", "Attack helicopters"),
        ("multirole-helicopters", "Multirole and transport helicopters"),
    ]),
    ("drones", "Drones", "military", "IV", [
        ("combat-drones", "Combat drones"),
        ("reconnaissance-drones", "Reconnaissance drones"),
        ("loitering-munitions", "Loitering munitions"),
        ("naval-drones", "Naval drones"),
    ]),
    ("naval", "Naval", "military", "VI", [
        ("warships", "Warships"),
        ("patrol-boats", "Patrol boats"),
        ("mine-countermeasures", "Mine countermeasure vessels"),
    ]),
    ("small-arms", "Small arms and light weapons", "military", "SALW", [
        ("rifles", "Rifles"),
        ("machine-guns", "Machine guns"),
        ("grenade-launchers", "Grenade launchers"),
        ("portable-anti-tank-weapons", "Portable anti-tank weapons"),
    ]),
    ("vehicles", "Vehicles", "military", "", [
        ("trucks", "Trucks"),
        ("utility-vehicles", "Utility vehicles"),
        ("military-ambulances", "Military ambulances"),
    ]),
    ("equipment", "Equipment", "military", "", [
        ("body-armour", "Body armour and helmets"),
        ("communications", "Communications"),
        ("night-vision", "Night vision and optics"),
        ("radars", "Radars"),
        ("electronic-warfare", "Electronic warfare"),
        ("demining", "Demining"),
        ("medical-equipment", "Military medical equipment"),
    ]),
    ("training", "Training", "military", "", [
        ("individual-training", "Individual training"),
        ("unit-training", "Unit training"),
    ]),
    ("military-financing", "Military financing", "military", "", [
        ("foreign-military-financing", "Foreign military financing"),
        ("procurement-funding", "Procurement funding"),
        ("trust-funds", "Trust funds"),
    ]),
    # A stated package total that the source does not break down: it has no subcategories on
    # purpose, since nothing is known about what it buys.
    ("unallocated", "Unallocated package value", "military", "", []),
    ("financial-aid", "Financial aid", "financial", "", [
        ("budget-support", "Budget support grants"),
        ("loans", "Loans"),
        ("guarantees", "Guarantees"),
    ]),
    ("humanitarian-aid", "Humanitarian aid", "humanitarian", "", [
        ("food", "Food"),
        ("medical-supplies", "Medical supplies"),
        ("shelter", "Shelter and energy"),
        ("cash-assistance", "Cash assistance"),
    ]),
]  # fmt: skip

ORGANISATIONS = [("EU", "European Union"), ("NATO", "North Atlantic Treaty Organization")]


def seed(apps, schema_editor):
    Party = apps.get_model("aid", "Party")
    Category = apps.get_model("aid", "Category")
    Party.objects.bulk_create(
        [
            Party(
                code=country.alpha_2,
                name=getattr(country, "common_name", None) or country.name,
                kind="state",
            )
            for country in pycountry.countries
        ]
        + [Party(code=code, name=name, kind="organisation") for code, name in ORGANISATIONS],
        ignore_conflicts=True,
    )
    for slug, name, aid_type, un_register, children in TAXONOMY:
        parent, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "aid_type": aid_type, "un_register": un_register}
        )
        for child_slug, child_name in children:
            Category.objects.get_or_create(
                slug=child_slug,
                defaults={"name": child_name, "parent": parent, "aid_type": aid_type},
            )


class Migration(migrations.Migration):
    dependencies = [("aid", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
