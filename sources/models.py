"""Documents that report aid, and the links that tie each pledge to the sources supporting it."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aid.codes import validate_language
from sources.normalise import normalise_url


class URLField(models.URLField):
    """A URL typed without a scheme is taken as https, as browsers do (and Django 6 will)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})


class Source(models.Model):
    """An article, statement or record. The URL is stored normalised and is unique when given."""

    class Kind(models.TextChoices):
        OFFICIAL_STATEMENT = "official-statement", "official statement"
        PRESS_RELEASE = "press-release", "press release"
        NEWS_REPORT = "news-report", "news report"
        PARLIAMENTARY_RECORD = "parliamentary-record", "parliamentary record"
        SOCIAL_MEDIA = "social-media", "social media"
        DATASET = "dataset", "dataset"

    url = URLField(
        "URL",
        max_length=2000,
        null=True,
        blank=True,
        unique=True,
        help_text="Optional: some documents have none. Stored normalised (no tracking "
        "parameters, no fragment).",
    )
    title = models.CharField(max_length=500, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    published_on = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.NEWS_REPORT)
    language = models.CharField(
        max_length=2, blank=True, validators=[validate_language], help_text="ISO 639-1, e.g. en."
    )
    archive_url = URLField("archive URL", max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-published_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url__isnull=False) | ~Q(title=""),
                name="source_has_url_or_title",
                violation_error_message="A source needs a URL or a title.",
            )
        ]
        indexes = [models.Index(fields=["publisher"], name="source_publisher")]

    def __str__(self):
        return self.title or self.url

    def clean(self):
        try:
            self.url = normalise_url(self.url) if self.url else None
        except ValueError as error:
            # Some URLs pass URLValidator but cannot be split (a port above 65535).
            raise ValidationError({"url": f"Enter a valid URL ({error})."}) from None
        self.language = (self.language or "").strip().lower()
        if not self.url and not self.title.strip():
            raise ValidationError({"title": "A source needs a URL or a title."})
        if self.url:
            existing = Source.objects.filter(url=self.url).exclude(pk=self.pk).first()
            if existing:
                raise ValidationError(
                    {
                        "url": ValidationError(
                            "This URL is already in the ledger as source #%(pk)s (“%(title)s”); "
                            "use that source.",
                            code="duplicate_url",
                            params={"pk": existing.pk, "title": existing},
                        )
                    }
                )


class PledgeSource(models.Model):
    """Why a source is cited for a pledge, and the words in it that support the pledge."""

    class Role(models.TextChoices):
        ANNOUNCEMENT = "announcement", "announcement"
        CORROBORATION = "corroboration", "corroboration"
        RE_ANNOUNCEMENT = "re-announcement", "re-announcement"
        SPECIFICATION = "specification", "specification of an earlier pledge"
        DELIVERY_EVIDENCE = "delivery-evidence", "delivery evidence"

    pledge = models.ForeignKey("aid.Pledge", on_delete=models.CASCADE, related_name="source_links")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="pledge_links")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOUNCEMENT)
    quote = models.TextField(blank=True, help_text="The passage that supports the pledge.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["pledge", "id"]
        verbose_name = "source of a pledge"
        verbose_name_plural = "sources of pledges"
        constraints = [
            models.UniqueConstraint(
                fields=["pledge", "source"],
                name="pledge_source_unique",
                violation_error_message="This source is already cited for this pledge.",
            )
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.source}"
