"""A JSON parser that refuses deeply nested bodies with a 400 instead of a RecursionError, and
reads numbers with a fraction as decimals, so a value sent as a JSON number keeps every cent."""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as drf_json

# No ledger body nests deeper than a pledge's lines or sources inside a pledge (about 4);
# the limit leaves room for that and stops a body from exhausting the recursion limit.
MAX_DEPTH = 32


def depth_exceeded(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than `limit`: checked before parsing."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class LimitedJSONParser(JSONParser):
    """JSON bodies nested at most `MAX_DEPTH` arrays/objects deep."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        if depth_exceeded(text):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=drf_json.strict_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
