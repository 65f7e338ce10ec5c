"""The review queue at /api/v1/reviews/: new drafts and pending revisions, each with its diff
against what is published, for the team; reviewers publish one or send it back with a note."""

from dataclasses import asdict

from django.core.exceptions import ValidationError as ModelValidationError
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aid.diffs import pledge_diff
from aid.models import Pledge
from aid.revisions import pledge_send_back
from aid.selectors import sees_drafts, visible_pledges
from aid.services import pledges_verify
from ledger.api.permissions import may
from ledger.api.schema import LedgerAutoSchema


class TheTeam(permissions.BasePermission):
    """The queue holds drafts: only those who may see drafts may read it."""

    def has_permission(self, request, view):
        return request.user.is_authenticated and sees_drafts(request)


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class RowChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    action = serializers.ChoiceField(["added", "removed", "changed"])
    changes = FieldChangeSerializer(many=True)


class DiffSerializer(serializers.Serializer):
    pledge = FieldChangeSerializer(many=True)
    lines = RowChangeSerializer(many=True)
    sources = RowChangeSerializer(many=True)


class TeamSchema(LedgerAutoSchema):
    """The ledger's error answers, but no anonymous reads: the queue is the team's."""

    def get_auth(self):
        return AutoSchema.get_auth(self)


class ReviewSerializer(serializers.ModelSerializer):
    pledge = serializers.SerializerMethodField(help_text="The published pledge a revision changes.")
    kind = serializers.SerializerMethodField()
    diff = serializers.SerializerMethodField()

    class Meta:
        model = Pledge
        fields = ["id", "ref", "kind", "pledge", "review_note", "updated_at", "diff"]

    def get_kind(self, pledge) -> str:
        return "revision" if pledge.revision_of_id else "new"

    def get_pledge(self, pledge) -> int | None:
        return pledge.revision_of_id

    @extend_schema_field(DiffSerializer)
    def get_diff(self, pledge) -> dict:
        return asdict(pledge_diff(pledge))


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(help_text="What the editor should change.")


class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Drafts and pending revisions, oldest change first, each with what publishing it changes."""

    serializer_class = ReviewSerializer
    permission_classes = [TheTeam]
    schema = TeamSchema()

    def get_queryset(self):
        return (
            visible_pledges(self.request)
            .filter(review=Pledge.Review.DRAFT)
            .select_related("revision_of", "donor", "recipient", "official")
            .order_by("updated_at", "id")
        )

    @extend_schema(request=None, responses=ReviewSerializer)
    @action(detail=True, methods=["post"], permission_classes=[may("aid.verify_pledge")])
    def publish(self, request, pk=None):
        """Publish: a new pledge is verified; a revision is copied onto its published pledge."""
        pledge = self.get_object()
        try:
            pledges_verify(actor=request.user, pledges=[pledge])
        except ModelValidationError as error:
            raise serializers.ValidationError({"review": error.messages}) from error
        return Response({"published": pledge.revision_of_id or pledge.pk})

    @extend_schema(request=NoteSerializer, responses=ReviewSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="send-back",
        permission_classes=[may("aid.verify_pledge")],
    )
    def send_back(self, request, pk=None):
        """Send the change back to its editors with a note they see on the pledge."""
        pledge = self.get_object()
        note = NoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        try:
            pledge = pledge_send_back(actor=request.user, pledge=pledge, note=note.data["note"])
        except ModelValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return Response(self.get_serializer(pledge).data)
