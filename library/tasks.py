"""The library's periodic job: stored media files that no picture or video row names are removed."""

from __future__ import annotations

from celery import shared_task

from library.media import media_orphans_remove


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def library_media_orphans_remove() -> int:
    """Remove orphan media files (``library.media.media_orphans_remove``); returns how many. Daily."""
    return media_orphans_remove()
