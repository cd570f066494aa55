"""How the API reads request bodies and picks a renderer: DRF's rules, with less work per request.

Both are DRF's own classes with a shortcut for the everyday case; every other
case is left to DRF. Tests in tests/api/test_api_io.py hold them to DRF's
answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation

# DRF's charset rule (text codecs only); not in the type stubs.
from rest_framework.parsers import get_encoding  # type: ignore[attr-defined]
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.utils import json

from portal.json_input import BodyChecksMixin


class OnePieceJSONParser(parsers.JSONParser):
    """DRF's JSON parser, decoding the body in one piece instead of through a stream reader.

    The same charset rules (DRF's get_encoding), the same strictness (no NaN or
    Infinity) and the same "JSON parse error - ..." message for a body that is
    not valid JSON or not valid in its charset.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding: str = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class JSONParser(BodyChecksMixin, OnePieceJSONParser):
    """The one-piece parser with the checks every JSON body gets (portal.json_input)."""


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answering a body of exactly the first parser's type, and a request that
    accepts anything or exactly the first renderer's type, without parsing the headers.

    For those DRF picks the first renderer with its own media type, so the answer
    is the same; anything else (other types, several, parameters, ?format=) goes
    to DRF.
    """

    def select_parser(
        self, request: Request, candidates: Iterable[parsers.BaseParser]
    ) -> parsers.BaseParser | None:
        # A body sent as exactly the first parser's type (no charset or other parameter).
        candidates = list(candidates)
        if candidates and request.content_type == candidates[0].media_type:
            return candidates[0]
        return super().select_parser(request, candidates)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if renderers and not format_suffix and not request.META.get("QUERY_STRING"):
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            if accept == "*/*" or accept == first.media_type:
                return first, str(first.media_type)
        result: tuple[BaseRenderer, str] = super().select_renderer(request, renderers, format_suffix)
        return result
