"""The four roles of a team, as groups (docs/operations.md, "Roles"). Users get a role by being
put in its group; administrators also manage users, groups and API tokens."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTENT = ["pledge", "line", "official", "source", "pledgesource"]
REFERENCE = ["party", "category", "itemtype", "itemalias", "ratetable", "rate"]
VIEW = [f"view_{model}" for model in CONTENT + REFERENCE]
EDIT = VIEW + [f"{action}_{model}" for model in CONTENT for action in ("add", "change")]
ROLES = {
    "readers": VIEW,
    "editors": EDIT,
    "reviewers": EDIT + ["verify_pledge", "withdraw_pledge"],
}
ADMINISTRATORS_APPS = ["aid", "sources", "auth", "knox"]


def seed_roles(apps, schema_editor):
    # Permissions are made after migrations (post_migrate); a fresh database needs them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ledger = Permission.objects.filter(content_type__app_label__in=["aid", "sources"])
    for name, codenames in ROLES.items():
        permissions = ledger.filter(codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        assert not missing, f"{name}: no permission {sorted(missing)}"
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
    group, _ = Group.objects.get_or_create(name="administrators")
    group.permissions.set(
        Permission.objects.filter(content_type__app_label__in=ADMINISTRATORS_APPS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("aid", "0006_pledge_review"),
        ("sources", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
