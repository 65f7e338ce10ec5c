"""API representation of sources; writes go through `sources.services`."""

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers

from sources.models import Source
from sources.services import source_save


class SourceSerializer(serializers.ModelSerializer):
    # The viewset prefetches `pledge_links` from `aid.selectors.visible_citations`, and reads a
    # write back through it: only the pledges the reader may see.
    pledges = serializers.SlugRelatedField(
        source="pledge_links", slug_field="pledge_id", many=True, read_only=True
    )
    url = serializers.CharField(max_length=2000, required=False, allow_null=True, allow_blank=True)

    class Meta:
        model = Source
        fields = [
            "id", "url", "title", "publisher", "published_on", "kind", "language", "archive_url",
            "pledges", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]

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
