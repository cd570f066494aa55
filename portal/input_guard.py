"""One defence for text that cannot be text: a 400 before any view reads it.

Django decodes query strings and form bodies leniently (undecodable bytes become
U+FFFD) and keeps NUL characters, which PostgreSQL then refuses in a query
("A string literal cannot contain NUL (0x00) characters": a 500 from a search
box). ``BadInputMiddleware`` answers 400, naming each bad parameter and the
reason, for NUL characters and bytes that are not UTF-8 in any query-string
name or value and in any form field of a page (urlencoded or multipart), for
a whole number wider than any column (SQLite's driver raises OverflowError
where PostgreSQL finds no row), for a query string longer than the one
gunicorn accepts in production, and for one with more parameters than Django
reads (``DATA_UPLOAD_MAX_NUMBER_FIELDS``: with DEBUG on, Django's own 400 for
it re-reads ``request.GET`` on its error page, once per middleware, and ended
as a 500 after 8 s of CPU; Django ticket #35673). Lone surrogates cannot
arrive this way (their UTF-8 form is not valid UTF-8); JSON bodies get the
same rules from portal.api.parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render

from portal.api.parsers import text_problem

if TYPE_CHECKING:
    # django-stubs' name for the read-only QueryDict a request's POST is.
    from django.http.request import _ImmutableQueryDict

# gunicorn's default limit_request_line is 4094 bytes for the whole request line;
# a longer query string never reaches the app in production, so none does here.
MAX_QUERY_STRING = 4096
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NOT_UTF8 = "is not valid UTF-8 text"


# The widest integer any column holds (bigint); a longer one can name no row and
# fit no field, and some database drivers raise instead of finding nothing.
MAX_INTEGER = 2**63 - 1
TOO_BIG = f"is a whole number beyond {MAX_INTEGER}, larger than any value Plinth stores"


#: Free-text fields where a run of digits is ordinary text (a note, a search, a phone number as
#: typed): the integer rule below is not theirs. The newcomer's report: a check-in whose note was
#: 23 digits was refused whole, its pain and safety answers lost.
FREE_TEXT_FIELDS = frozenset({"note", "q", "phone"})


def value_problem(text: str, *, field: str = "") -> str | None:
    """Why one decoded name or value is refused (``text_problem``, or an integer beyond 64 bits
    in any field but ``FREE_TEXT_FIELDS``), or None."""
    reason = text_problem(text)
    if reason:
        return reason
    if field in FREE_TEXT_FIELDS:
        return None
    digits = text.strip().removeprefix("-").removeprefix("+")
    # Compared by length first: int() refuses texts of more than 4300 digits.
    if (
        len(digits) > 18
        and digits.isascii()
        and digits.isdigit()
        and (len(digits) > len(str(MAX_INTEGER)) or int(digits) > MAX_INTEGER)
    ):
        return TOO_BIG
    return None


def _label(name: str) -> str:
    # Names may be huge or unprintable: a readable prefix keeps the answer small.
    return name[:64].replace("\x00", "\\x00") or "(empty name)"


def urlencoded_problems(raw: bytes) -> dict[str, list[str]]:
    """Each parameter of an urlencoded string (``a=1&b=2``, as bytes) that is not storable text.

    Returns ``{parameter name: [reason]}``; empty when every name and value is
    UTF-8 without NUL characters. Splits as Django's QueryDict does (``&``, the
    first ``=``, ``+`` for space).
    """
    problems: dict[str, list[str]] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name_bytes, _, value_bytes = pair.partition(b"=")
        name_raw = unquote_to_bytes(name_bytes.replace(b"+", b" "))
        value_raw = unquote_to_bytes(value_bytes.replace(b"+", b" "))
        try:
            name = name_raw.decode("utf-8")
        except UnicodeDecodeError:
            problems[_label(name_raw.decode("utf-8", "replace"))] = [f"The name {NOT_UTF8}."]
            continue
        try:
            value = value_raw.decode("utf-8")
        except UnicodeDecodeError:
            problems[_label(name)] = [f"The value {NOT_UTF8}."]
            continue
        for part, text in (("name", name), ("value", value)):
            reason = value_problem(text, field=name if part == "value" else "")
            if reason:
                problems.setdefault(_label(name), []).append(f"The {part} {reason}.")
    return problems


def text_items_problems(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each (name, value) pair, already decoded, whose name or value is not storable text."""
    problems: dict[str, list[str]] = {}
    for name, value in items:
        for part, text in (("name", name), ("value", value)):
            reason = value_problem(text, field=name if part == "value" else "")
            if reason:
                problems.setdefault(_label(name), []).append(f"The {part} {reason}.")
    return problems


def operation_outcome_of(problems: dict[str, list[str]]) -> dict[str, Any]:
    """``problems`` as a FHIR OperationOutcome: one "invalid" issue per reason, its parameter as
    the issue's expression (for /fhir/, whose clients expect one for every error)."""
    issues = [
        {"severity": "error", "code": "invalid", "diagnostics": reason, "expression": [name]}
        for name, reasons in problems.items()
        for reason in reasons
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}


def request_problems(request: HttpRequest) -> dict[str, list[str]]:
    """Why ``request`` cannot be served (``{parameter: [reasons]}``), or ``{}`` when it can.

    Checks the raw query string and, for form posts to pages, every field
    (names and values; for multipart also uploaded file names). Reading the form
    body is bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE and
    DATA_UPLOAD_MAX_NUMBER_FIELDS, whose errors Django answers with 400 itself.
    """
    problems = query_problems(request)
    content_type = request.content_type or ""
    if request.path.startswith("/api/"):
        # The API reads JSON only (portal.api.parsers checks it) and answers a form body 415.
        return problems
    if request.method == "POST" and content_type == FORM_TYPES[0]:
        problems.update(urlencoded_problems(request.body))
    elif request.method == "POST" and content_type == FORM_TYPES[1]:
        # Every value of a repeated field, not only the last one a view would read.
        fields = ((name, str(value)) for name, values in request.POST.lists() for value in values)
        problems.update(text_items_problems(fields))
        uploads = ((name, str(upload.name)) for name, files in request.FILES.lists() for upload in files)
        problems.update(text_items_problems(uploads))
    return problems


def query_problems(request: HttpRequest) -> dict[str, list[str]]:
    """Why ``request``'s query string cannot be served (``{parameter: [reasons]}``; "query" for
    one too long or with too many parameters), or ``{}``."""
    problems: dict[str, list[str]] = {}
    query = request.META.get("QUERY_STRING", "")
    # The WSGI server hands the raw bytes over as latin-1 text (PEP 3333).
    raw_query = query.encode("latin-1", "replace")
    # Counted as Django's QueryDict counts (parse_qsl: one more than the "&"s, empty pairs too).
    max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if len(raw_query) > MAX_QUERY_STRING:
        problems["query"] = [f"The query string is longer than {MAX_QUERY_STRING} bytes."]
    elif max_fields is not None and raw_query and raw_query.count(b"&") + 1 > max_fields:
        problems["query"] = [f"The query string has more than {max_fields} parameters."]
    elif raw_query:
        problems.update(urlencoded_problems(raw_query))
    return problems


#: The request attribute naming the form fields a NUL was removed from (``nul_removed``).
NUL_REMOVED_ATTR = "plinth_nul_removed"
#: The notice a page shows after a NUL was removed from what was typed.
NUL_REMOVED_NOTICE = (
    "A NUL character, which cannot be stored, was removed from what you typed. "
    "The rest of your text is kept: check it."
)


def nul_removed(request: HttpRequest) -> frozenset[str]:
    """The form fields of this page's post that had NUL characters removed before any view read
    them (``BadInputMiddleware``); empty for any other request. A view whose post must not take
    effect unseen (a message to another person) re-shows its form when its field is here."""
    removed: frozenset[str] = getattr(request, NUL_REMOVED_ATTR, frozenset())
    return removed


def _only_nul_in_values(problems: dict[str, list[str]]) -> bool:
    nul = f"The value {text_problem(chr(0))}."
    return bool(problems) and all(reasons == [nul] for reasons in problems.values())


def _form_without_nul(request: HttpRequest) -> tuple[_ImmutableQueryDict, frozenset[str]] | None:
    """A page's form post whose only problems are NUL characters in field values (the query
    string, the names, the uploads and every other rule clean): its fields with the NULs
    removed and the names of the fields they were in; else None."""
    if request.path.startswith("/api/") or request.method != "POST":
        return None
    content_type = request.content_type or ""
    if content_type not in FORM_TYPES or query_problems(request):
        return None
    if content_type == FORM_TYPES[0]:
        found = urlencoded_problems(request.body)
    else:
        found = text_items_problems((n, str(v)) for n, values in request.POST.lists() for v in values)
        uploads = ((n, str(f.name)) for n, files in request.FILES.lists() for f in files)
        if text_items_problems(uploads):
            return None
    if not _only_nul_in_values(found):
        return None
    cleaned = request.POST.copy()
    removed = set()
    for name, values in request.POST.lists():
        if any("\x00" in value for value in values):
            cleaned.setlist(name, [value.replace("\x00", "") for value in values])
            removed.add(name)
    if text_items_problems((n, v) for n, values in cleaned.lists() for v in values):
        return None
    # Read-only again, as Django hands a form to a view.
    return QueryDict(cleaned.urlencode(), encoding=request.encoding), frozenset(removed)


class BadInputMiddleware:
    """Answers 400 for a request with NUL characters or non-UTF-8 bytes (``request_problems``).

    The API gets ``{parameter: [reason]}`` as JSON (its documented 400); a page
    gets a short page listing the same reasons. A NUL in the path is a 404.

    Except a page's form post whose only fault is NUL characters in what was typed (a paste
    from another program): the NULs are removed before the view reads the form, the page shows
    ``NUL_REMOVED_NOTICE``, and ``nul_removed`` names the fields; the view then answers as for
    any post, so what was typed is never lost (a refusal re-shows the form with it). The API
    keeps refusing a NUL (400 naming the field): a program can send its text again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A NUL cannot be part of any address (Django re-escapes bytes that are not
        # UTF-8, "%FF", but keeps a NUL): nothing is there, as for any other unknown path.
        if "\x00" in request.path:
            raise Http404("No such page")
        problems = request_problems(request)
        if not problems:
            return self.get_response(request)
        without_nul = _form_without_nul(request)
        if without_nul is not None:
            # HttpRequest.POST's own setter: the view and the CSRF check read the cleaned form.
            request.POST, removed = without_nul
            setattr(request, NUL_REMOVED_ATTR, removed)
            messages.warning(request, NUL_REMOVED_NOTICE)
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(problems, status=400)
        if request.path.startswith("/fhir/"):
            # The FHIR server's clients read an OperationOutcome (fhir_r4.bundles writes the same shape).
            return JsonResponse(
                operation_outcome_of(problems), status=400, content_type="application/fhir+json"
            )
        return render(request, "portal/bad_request.html", {"problems": problems}, status=400)
