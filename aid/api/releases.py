"""Dataset releases at /api/v1/releases/: read-only for everyone, each with its files, which are
downloaded as they were written (immutable: their ETag is their sha256)."""

from django.http import FileResponse, Http404
from django.urls import re_path, reverse
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from aid.models import Release
from aid.releases.make import FILES, citation, folder_of
from ledger.api.csv import CSVRenderer
from ledger.api.schema import LedgerAutoSchema

CONTENT_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json"}


class ReleaseFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, file: dict) -> str:
        path = reverse(
            "release-file", kwargs={"name": self.context["release"].name, "filename": file["name"]}
        )
        return self.context["request"].build_absolute_uri(path)


class ReleaseSerializer(serializers.ModelSerializer):
    previous = serializers.SlugRelatedField(slug_field="name", read_only=True)
    files = serializers.SerializerMethodField()
    citation = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["name", "created_at", "note", "previous", "pledges", "lines", "files", "citation"]

    @extend_schema_field(ReleaseFileSerializer(many=True))
    def get_files(self, release: Release) -> list[dict]:
        context = {**self.context, "release": release}
        return ReleaseFileSerializer(release.files, many=True, context=context).data

    def get_citation(self, release: Release) -> str:
        return citation(release)


class ReleaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Releases of the published ledger, newest first; cite one by its `citation`."""

    queryset = Release.objects.select_related("previous").order_by("-created_at", "-id")
    serializer_class = ReleaseSerializer
    lookup_field = "name"
    lookup_value_regex = "[A-Za-z0-9][A-Za-z0-9_.:-]*"  # a release name's characters
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    schema = LedgerAutoSchema()

    @extend_schema(
        responses=OpenApiResponse(OpenApiTypes.BINARY, description="The file, as released.")
    )
    def file(self, request, name=None, filename=None):
        """Download one of the release's files; `If-None-Match` with its ETag answers 304."""
        release = self.get_object()
        entry = release.file(filename)
        if entry is None:
            raise Http404
        etag = f'"{entry["sha256"]}"'
        if unchanged := get_conditional_response(request._request, etag=etag):
            return unchanged
        path = folder_of(release) / filename
        response = FileResponse(
            open(path, "rb"),  # closed by the response  # noqa: SIM115
            as_attachment=True,
            filename=f"{release.name}-{filename}",
            content_type=CONTENT_TYPES[path.suffix],
        )
        response["ETag"] = etag
        response["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def file_route():
    """`releases/<name>/files/<filename>`, beside the router's routes: a file's URL ends with
    its name, without the router's trailing slash. Answers a client that accepts CSV or JSON."""
    filenames = "|".join(name.replace(".", "[.]") for name in FILES)
    return re_path(
        rf"^releases/(?P<name>{ReleaseViewSet.lookup_value_regex})/files/(?P<filename>{filenames})$",
        ReleaseViewSet.as_view(
            {"get": "file"}, detail=True, renderer_classes=[JSONRenderer, CSVRenderer]
        ),
        name="release-file",
    )
