"""Reads of the ledger that more than one surface needs (admin, importers, later the API)."""

from django.db.models import Q

from aid.models import ItemType


def item_type_for(text: str) -> ItemType | None:
    """The catalogue item type whose name or one of whose aliases is `text`, ignoring case."""
    text = text.strip()
    if not text:
        return None
    return (
        ItemType.objects.filter(Q(name__iexact=text) | Q(aliases__alias__iexact=text))
        .select_related("category")
        .first()
    )
