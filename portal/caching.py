"""No authenticated response is stored by a browser or a shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` (and no-cache, max-age=0) on every authenticated response.

    Pages, HTMX fragments, the API, exports, the handout PDF and the admin all
    show patient data or account secrets to one user: a shared device's back
    button, its disk cache or a proxy must keep none of it. "Authenticated" is
    a session login or a request carrying credentials (an API token, which DRF
    authenticates inside the view), so a rejected token's 401 is not cached
    either. Sits after AuthenticationMiddleware, so ``request.user`` is known.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            add_never_cache_headers(response)
        return response
