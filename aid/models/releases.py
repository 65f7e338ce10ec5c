"""Dataset releases: the published ledger frozen into files that never change (aid/releases/)."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from aid.models.pledges import validate_ref

# A release's name is its folder's: not "." or "..", and not hidden like a folder being written.
validate_folder_name = RegexValidator(r"\A[A-Za-z0-9]", "Start with a letter or digit.")


class Release(models.Model):
    """One frozen copy of the published ledger, cited by its name. Written once by
    `aid.releases.make.release_create`; nothing updates or deletes it."""

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[validate_ref, validate_folder_name],
        help_text="How the release is cited and named in URLs, e.g. 2026-12. "
        "Letters, digits and - _ . : only.",
    )
    created_at = models.DateTimeField()
    note = models.TextField(blank=True, help_text="What this release is for, shown with it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next",
        help_text="The release its changes file compares it with; none for the first.",
    )
    files = models.JSONField(help_text="Each file's name, bytes and sha256, in the folder's order.")
    pledges = models.PositiveIntegerField(help_text="Pledges in lines.csv, withdrawn included.")
    lines = models.PositiveIntegerField(help_text="Lines (rows) in lines.csv.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name

    def file(self, name: str) -> dict | None:
        """The named file's entry in `files`, or None when the release has no such file."""
        return next((each for each in self.files if each["name"] == name), None)
