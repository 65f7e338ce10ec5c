"""API representation of sources; writes go through `sources.services`."""

from django.core.exceptions import ValidationError as ModelValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.models import Source
from sources.services import source_save


class SourceSerializer(serializers.ModelSerializer):
    # Only the pledges the reader may see: the viewset prefetches them from
    # `aid.selectors.visible_citations` into `visible_links`. A source read without that prefetch
    # has no such attribute and fails loudly, rather than listing every pledge, drafts included.
    pledges = serializers.SerializerMethodField()
    url = serializers.CharField(max_length=2000, required=False, allow_null=True, allow_blank=True)

    class Meta:
        model = Source
        fields = [
            "id", "url", "title", "publisher", "published_on", "kind", "language", "archive_url",
            "pledges", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_pledges(self, source) -> list[int]:
        return [link.pledge_id for link in source.visible_links]

    def save(self, **kwargs):
        source = self.instance or Source()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(source, name, value)
        source.url = source.url or None
        try:
            self.instance = source_save(actor=self.context["request"].user, source=source)
        except ModelValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return self.instance
