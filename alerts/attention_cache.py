"""The attention list, cached per clinic for a short time in Django's shared cache.

Ranking a clinic's attention list reads every watched plan of the clinic (the
rules run in the database over all of them), so a caseload page opened by each of
a clinic's therapists every few seconds would repeat the same work. The ranked
list is kept for ``PLINTH_ATTENTION_CACHE_SECONDS`` (0: not cached) under the
clinic's *generation*, which every change that must show at once moves on: an
alert raised (a red flag on a check-in, the detection job), acknowledged or
cleared. Other changes (a check-in that ends a silence, a plan started or ended,
a pain trend crossing the worsening line) show within that many seconds: those
rules are judged over days, and a minute's delay changes no clinical decision.
The cache is the one the rate limits share (Redis in production, files under
``var/`` for the embedded default), so every web process sees the same generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def _generation_key(clinic_id: int) -> str:
    return f"attention:{clinic_id}:generation"


def attention_cached(clinic_id: int, compute: Callable[[], T]) -> T:
    """``compute()``'s result for clinic ``clinic_id``, from the cache while it is current.

    Computed and stored for ``PLINTH_ATTENTION_CACHE_SECONDS`` under the clinic's
    current generation; with the setting at 0, computed every time. Raises what
    ``compute`` raises.
    """
    seconds = settings.PLINTH_ATTENTION_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    generation = cache.get_or_set(_generation_key(clinic_id), 1, timeout=None)
    key = f"attention:{clinic_id}:{generation}"
    found: T | None = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, timeout=seconds)
    return found


def attention_changed(clinic_ids: Iterable[int]) -> None:
    """Move the clinics' attention generation on once the current transaction commits.

    Call it from a write that must show on the attention list at once (an alert
    raised, acknowledged or cleared); the next page view ranks afresh.
    """
    ids = sorted(set(clinic_ids))

    def bump() -> None:
        for clinic_id in ids:
            try:
                cache.incr(_generation_key(clinic_id))
            except ValueError:  # no generation yet: nothing cached under it either
                cache.set(_generation_key(clinic_id), 2, timeout=None)

    if ids:
        transaction.on_commit(bump)
