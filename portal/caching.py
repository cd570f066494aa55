"""No authenticated response is stored by a browser or a shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers, patch_cache_control

#: The response attribute ``cache_privately`` sets, which NoStoreMiddleware honours.
_PRIVATE_SECONDS = "plinth_private_cache_seconds"


def cache_privately(response: HttpResponseBase, *, seconds: int) -> HttpResponseBase:
    """Let the signed-in user's own browser keep ``response`` for ``seconds`` (``private``:
    never a shared cache), instead of NoStoreMiddleware's no-store.

    Only for content that is no patient's data and never changes under its address:
    an exercise's picture or video, whose file name is generated anew for each upload.
    Returns ``response``.
    """
    setattr(response, _PRIVATE_SECONDS, seconds)
    return response


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

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        private_seconds = getattr(response, _PRIVATE_SECONDS, None)
        if private_seconds is not None:
            patch_cache_control(response, private=True, max_age=private_seconds, immutable=True)
        elif (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            add_never_cache_headers(response)
        return response
