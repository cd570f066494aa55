"""What every JSON body must be before a view sees it: shallow, and text a database can store.

DRF's JSONParser answers 400 for malformed JSON (a ValueError) but lets a
RecursionError through (a body of 100,000 nested ``[`` is a 500), and it accepts
``"\\u0000"`` and lone surrogates such as ``"\\ud800"``, which PostgreSQL refuses
in text and UTF-8 cannot encode (so even the error response naming such a key
fails). ``JSONParser`` is DRF's own parser with those checks added, and the one
the API uses (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES); tests/api/test_bad_input.py
holds it to DRF's answers for every body within the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body the API documents (its deepest is an object of lists of
# objects); well under Python's recursion limit, so checking never recurses.
MAX_DEPTH = 32


#: Bidirectional overrides: they make the characters after them display in an order other
#: than the one they are stored in, so a name or a note would read differently from what it
#: holds (the "Trojan Source" spoofing, CVE-2021-42574). Right-to-left text needs none.
BIDI_OVERRIDES = ("\u202d", "\u202e")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text, or None when it can.

    PostgreSQL refuses U+0000 in text columns, and a lone surrogate (U+D800 to
    U+DFFF) has no UTF-8 encoding, so neither can be saved, searched for or echoed
    back; a bidirectional override (``BIDI_OVERRIDES``) would show text other than
    what is stored.
    """
    if "\x00" in text:
        return "contains a NUL character (U+0000), which is not allowed"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (U+D800 to U+DFFF), which is not valid Unicode"
        if any(char in text for char in BIDI_OVERRIDES):
            return (
                "contains a direction override character (U+202D or U+202E), which would show "
                "the text in another order than it was written"
            )
    return None


def json_body_problem(data: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """The first reason the parsed JSON value ``data`` is refused, naming where, or None.

    ``data`` is what ``json.loads`` returns (dicts, lists, str, numbers, bools,
    None). Refused: nesting deeper than ``max_depth`` containers, and any key or
    string value for which ``text_problem`` gives a reason. The path is given as
    ``a.b[2]`` so a client can find it; iterative, so no input can exhaust the stack.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return f"{_label(path)} {problem}"
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                return f"{_label(path)} is nested more than {max_depth} levels deep"
            if isinstance(value, dict):
                for key, item in value.items():
                    problem = text_problem(key)
                    if problem:
                        return f"a key in {_label(path)} {problem}"
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
    return None


def _label(path: str) -> str:
    # A refused key may itself be huge; the message names a readable prefix of the path.
    return f"the value at {path[:64]!r}" if path else "the body"


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing too deep a body and text a database cannot store.

    ``parse`` returns what DRF's parser returns (dicts, lists, str, numbers,
    bools, None) for any body within the rules. Errors: ``ParseError`` (400,
    "JSON parse error - ...") for malformed JSON (DRF's own), for a RecursionError
    while decoding, and for whatever ``json_body_problem`` reports.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep") from exc
        problem = json_body_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
