"""The pages' fuzzer: every GET parameter and form field of every page route, with hostile values.

The API has schemathesis (test_schemathesis.py); this is the same promise for
the pages and the admin: no 5xx, whatever is sent. Routes come from the URLconf
through the authorization matrix's walker, with its world of objects; each
route is opened as every persona the matrix says can reach it (therapist,
patient, staff, and the anonymous visitor for public pages). Fields are found,
not listed: the <form>s of every page reached (inputs, selects, textareas, and
the hx-get/hx-post targets of HTMX forms), plus every name the product's views
read with ``request.GET.get(...)`` (found by reading their source).

Each product field gets each hostile value in its own request, the form's
other fields keeping the values the page rendered; the admin (Django's own
forms, many fields) gets each hostile value in every field at once. Every
request is rolled back, so no write leaks into the next one. The request count
is printed and recorded like the matrix's, and is bounded.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from tests.conftest import record_figure
from tests.portal.routes import PERSONAS, all_route_names, row_for
from tests.product import PRODUCT
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = PRODUCT
# Who the fuzzer acts as: the three roles, and the visitor for public pages.
FUZZ_PERSONAS = ("anon", "patient_a", "owner", "staff")
# The admin's own query parameters (changelist paging, ordering, errors, popups).
ADMIN_QUERY_PARAMS = ("q", "p", "o", "e", "_popup", "_to_field", "_changelist_filters")
MAX_REQUESTS = 6000

# Hostile values, as raw bytes; a tuple sends the parameter once per element.
Value = bytes | tuple[bytes, ...]
HOSTILE: dict[str, Value] = {
    "nul": b"a\x00b",
    "not_utf8": b"caf\xe9\xff",
    "lone_surrogate": "\ud800".encode("utf-8", "surrogatepass"),
    "huge": b"9" * 3000,
    # Given three times (an array), nested as JSON would be.
    "repeated_nested": (b"1", b"[[[[]]]]", b'{"a": {"b": [1]}}'),
    "exponent": b"1e9",
    "negative": b"-1",
    "overflow": b"99999999999999999999999",
    "word": b"2026-13-45",
    "empty": b"",
}
# Django's own admin forms get the kinds that reach its fields (the rest stop at the middleware).
ADMIN_HOSTILE = ("huge", "repeated_nested", "overflow", "negative", "word")
# POST bodies may be far larger than a URL (Django's upload limit bounds them).
HUGE_BODY = b"9" * 200_000


@dataclass
class Form:
    """A form found on a page: where it goes, how, and its fields with their rendered values."""

    url: str
    method: str
    fields: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FormFinder(HTMLParser):
    """Collects the <form>s of a page with their named inputs, selects and textareas."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._hx: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = (a.get("method") or "get").upper()
            self._current = Form(url=a.get("action") or self.page_url, method=method)
            self.forms.append(self._current)
            hx_url = a.get("hx-get") or a.get("hx-post")
            self._hx = None
            if hx_url:
                target = a.get("hx-target", "").lstrip("#")
                self._hx = Form(
                    url=hx_url,
                    method="GET" if a.get("hx-get") else "POST",
                    headers={"HX-Request": "true", "HX-Target": target},
                )
                self.forms.append(self._hx)
            return
        if self._current is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._set(name, b"", only_if_missing=True)
            elif kind not in ("submit", "button", "image", "file"):
                self._set(name, a.get("value", "").encode())
        elif tag == "select" and name:
            self._select = name
            self._set(name, b"", only_if_missing=True)
        elif tag == "option" and self._select:
            if "selected" in a:
                self._set(self._select, a.get("value", "").encode())
        elif tag == "textarea" and name:
            self._textarea = name
            self._set(name, b"")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._set(self._textarea, data.encode())

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = self._hx = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def _set(self, name: str, value: bytes, *, only_if_missing: bool = False) -> None:
        for form in (self._current, self._hx):
            if form is not None and not (only_if_missing and name in form.fields):
                form.fields[name] = value


def get_params_read_in(module: str) -> set[str]:
    """Every literal name module ``module`` reads with ``request.GET.get(name)`` or ``request.GET[name]``.

    Found by reading the module's source, so a view that starts reading a new
    parameter is fuzzed on it without anyone listing it here.
    """
    names: set[str] = set()
    if not module.startswith(PRODUCT_PACKAGES):
        return names
    path = ROOT / (module.replace(".", "/") + ".py")
    for node in ast.walk(ast.parse(path.read_text())):
        target = key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "getlist") and node.args:
                target, key = node.func.value, node.args[0]
        elif isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        if (
            isinstance(target, ast.Attribute)
            and target.attr == "GET"
            and isinstance(key, ast.Constant)
            and isinstance(key.value, str)
        ):
            names.add(key.value)
    return names


def encode(fields: dict[str, Value]) -> bytes:
    """An urlencoded string from raw byte values (a tuple repeats the name)."""
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, tuple) else (value,):
            parts.append(quote_from_bytes(name.encode()) + "=" + quote_from_bytes(item))
    return "&".join(parts).encode("ascii")


def reaching_personas(name: str) -> list[str]:
    """The fuzzing personas the matrix lets through to route ``name`` (not refused, not sent to log in)."""
    row = row_for(name)
    assert row is not None, name
    statuses = dict(zip(PERSONAS, row[2].split(), strict=True))
    anon = statuses["anon"]
    if anon == "200":
        # A public page: a visitor's form is the same for everyone (logged-in users are sent on).
        return ["anon"]
    return [
        persona
        for persona in FUZZ_PERSONAS
        if statuses[persona] not in ("401", "403", "404", "302") or (statuses[persona] == "302" != anon)
    ]


class Fuzzer:
    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        self.requests = 0
        self.failures: list[str] = []
        self.fields_fuzzed: set[tuple[str, str]] = set()
        self.routes_fuzzed: set[str] = set()

    def client(self, persona: str) -> Client:
        if persona not in self.clients:
            client = Client(raise_request_exception=False)
            user = self.world.persona(persona)
            if user is not None:
                client.force_login(user)
            self.clients[persona] = client
        return self.clients[persona]

    def send(
        self, persona: str, method: str, url: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Any:
        """One request, rolled back; a 5xx is recorded as a failure."""
        client = self.client(persona)
        path = urlsplit(url).path
        self.requests += 1
        with transaction.atomic():
            if method == "GET":
                response = client.get(f"{path}?{body.decode('ascii')}", headers=headers)
            else:
                response = client.post(
                    path, body, content_type="application/x-www-form-urlencoded", headers=headers
                )
            transaction.set_rollback(True)
        if response.status_code >= 500:
            shown = body[:120].decode("ascii", "replace")
            self.failures.append(f"{method} {path} as {persona} -> {response.status_code}: {shown}")
        return response

    def fuzz_fields(self, persona: str, form: Form, names: list[str], *, at_once: bool) -> None:
        route = self.route_name(form.url)
        for kind, value in HOSTILE.items():
            if at_once and kind not in ADMIN_HOSTILE:
                continue
            if form.method == "POST" and kind == "huge":
                value = HUGE_BODY
            for batch in [names] if at_once else [[name] for name in names]:
                fields: dict[str, Value] = dict(form.fields)
                fields.update({name: value for name in batch})
                self.send(persona, form.method, form.url, encode(fields), form.headers)
                self.fields_fuzzed.update((route, name) for name in batch)
        self.routes_fuzzed.add(route)

    @staticmethod
    def route_name(url: str) -> str:
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            return urlsplit(url).path
        return match.view_name


@pytest.mark.django_db
def test_pages_answer_hostile_input_without_a_server_error(world: World, settings: Any) -> None:
    # Hundreds of posts a minute to login and check-in: the limiters have their own tests.
    settings.PLINTH_RATE_LIMITS = {key: (1_000_000, 60) for key in settings.PLINTH_RATE_LIMITS}
    started = time.monotonic()
    fuzzer = Fuzzer(world)
    seen_forms: set[tuple[str, str, str, tuple[str, ...]]] = set()
    pages = 0
    for name in all_route_names():
        row = row_for(name)
        assert row is not None, f"{name} has no row in the authorization matrix"
        method, args, _ = row
        if name.startswith("api-") or name in ("logout", "admin:logout"):
            continue  # the API has schemathesis; logging out ends the persona's session
        url = reverse(name, kwargs=args(world))
        admin = name.startswith("admin:")
        view_params = sorted(get_params_read_in(resolve(url).func.__module__))
        for persona in reaching_personas(name):
            # The page itself (POST-only routes are opened too: some render their form on GET).
            response = fuzzer.send(persona, "GET", url, b"")
            pages += 1
            forms = []
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                finder = FormFinder(url)
                finder.feed(response.content.decode())
                forms = finder.forms
            # The query parameters the views read, on the page's own URL.
            params = list(ADMIN_QUERY_PARAMS) if admin else view_params
            if method == "GET" and (not admin or name.endswith("_changelist")):
                fuzzer.fuzz_fields(persona, Form(url=url, method="GET"), params, at_once=admin)
            if method == "POST" and not forms:
                # A POST-only route with no page of its own: its forms are found on other pages.
                continue
            for form in forms:
                key = (persona, form.method, urlsplit(form.url).path, tuple(sorted(form.fields)))
                if key in seen_forms or "/logout/" in form.url:
                    continue
                seen_forms.add(key)
                names = [n for n in form.fields if n != "csrfmiddlewaretoken"] or list(form.fields)
                if form.method == "GET":
                    names = sorted(set(names) | set(params if not admin else ()))
                fuzzer.fuzz_fields(persona, form, names, at_once=admin)
    elapsed = time.monotonic() - started
    summary = (
        f"page fuzzer: {pages} page openings, {len(fuzzer.routes_fuzzed)} routes, "
        f"{len(fuzzer.fields_fuzzed)} (route, field) pairs x {len(HOSTILE)} hostile values, "
        f"{fuzzer.requests} requests in {elapsed:.1f}s"
    )
    print(summary)
    record_figure(summary)
    assert not fuzzer.failures, "\n".join(fuzzer.failures[:50])
    assert fuzzer.requests <= MAX_REQUESTS, summary
    # The fuzzer must have found the forms it exists for, or it tests nothing.
    fuzzed_routes = {route for route, _ in fuzzer.fields_fuzzed}
    for expected in (
        "caseload",
        "checkin",
        "patient-settings",
        "patient-add",
        "plan-details",
        "plan-exercise-update",
        "plan-save-template",
        "outcome-report",
        "library",
        "audit-search",
        "login",
        "password_reset",
        "invitation",
        "admin:accounts_patient_change",
    ):
        assert expected in fuzzed_routes, f"no field of {expected} was fuzzed"
    assert ("caseload", "q") in fuzzer.fields_fuzzed
