"""Writes to sources. URLs are normalised by the model's validation, so the duplicate check here
and in the database sees the same spelling whichever door the source came in by."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from aid.services import attribute
from sources.models import Source
from sources.normalise import normalise_url


@transaction.atomic
def source_save(*, actor: AbstractBaseUser | None, source: Source) -> Source:
    source.full_clean()
    attribute(source, actor)
    source.save()
    return source


def source_find(url: str) -> Source | None:
    """The source already stored under this URL, whatever tracking parameters it came with."""
    try:
        normalised = normalise_url(url)
    except ValueError:  # not a URL that can be split, so not one that can be stored either
        return None
    return Source.objects.filter(url=normalised).first() if normalised else None
