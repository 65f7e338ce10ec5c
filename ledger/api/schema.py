"""The OpenAPI description of the ledger's own rules that drf-spectacular cannot see: anonymous
reads, CSV bodies, and the JSON errors every operation may answer with."""

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import SAFE_METHODS

CSV = "text/csv"
ERRORS = {
    "400": "A parameter or field is invalid: each is named, with its messages.",
    "401": "The credentials or token are invalid.",
    "403": "Not logged in, or without the permission this needs.",
    "404": "No such record, page or format.",
    "406": "None of the media types in the Accept header can be given.",
    "409": "The pledge has a pending change waiting for review: edit that revision instead.",
    "412": "The record changed after you read it (If-Match): read it again.",
    "415": "The request body is not JSON, a form or multipart data (or cannot be read as such).",
    "429": "Too many anonymous requests: try again after Retry-After seconds.",
}
WRITES = {"POST", "PUT", "PATCH"}
SCHEMAS = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": "Messages by parameter or field name (`lines[2].quantity` for a line).",
        "additionalProperties": {},
    },
}


class LedgerAutoSchema(AutoSchema):
    def get_auth(self):
        """Reads are open to anonymous users unless LEDGER_API_READ_REQUIRES_LOGIN: an empty
        security requirement says so, as drf-spectacular does for DRF's read-only permissions."""
        auths = super().get_auth()
        if (
            self.method in SAFE_METHODS
            and not settings.LEDGER_API_READ_REQUIRES_LOGIN
            and {} not in auths
        ):
            auths.append({})
        return auths

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for response in responses.values():
            if CSV in response.get("content", {}):
                response["content"][CSV] = {
                    "schema": {
                        "type": "string",
                        "description": "CSV: a header row, then every row (not paginated).",
                    }
                }
        for code, description in ERRORS.items():
            if code in ("409", "412", "415") and self.method not in WRITES:
                continue
            name = "ValidationError" if code == "400" else "Error"
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=SCHEMAS[name]
            )
            self.registry.register_on_missing(component)
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": description,
                },
            )
        return responses
