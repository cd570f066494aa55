"""The Celery app. Every periodic schedule is declared here, in one place.

Times are UTC (CELERY_TIMEZONE). Jobs whose meaning depends on a local clock
(reminders at the patient's reminder time, silence counted in the patient's
days, the digest in the clinic's morning) run often and decide per time zone
in the database, rather than being scheduled once per zone here.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Periodic jobs that publish other tasks live in a module of their own (reminders.jobs), so
# that services can import the tasks they publish without a cycle.
app.autodiscover_tasks(related_name="jobs")

app.conf.beat_schedule = {
    # Every 5 minutes: each patient whose local reminder time has passed.
    # The expiry drops ticks queued while no worker ran; the next one does the work.
    "reminders-dispatch": {
        "task": "reminders.jobs.reminders_dispatch_due",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Nightly, before detection reads the snapshots.
    "outcomes-recompute-all": {
        "task": "outcomes.tasks.outcome_recompute_all",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    # Hourly, so silence is noticed soon after each patient's local midnight.
    "alerts-detect": {
        "task": "alerts.tasks.alerts_detect_all",
        "schedule": crontab(minute=40),
        "options": {"expires": 50 * 60},
    },
    # Hourly; each clinic gets its digest in its own 07:00 hour (ALERT_DIGEST_HOUR).
    "alerts-digest": {
        "task": "alerts.tasks.alerts_digest_due",
        "schedule": crontab(minute=50),
        "options": {"expires": 9 * 60},
    },
    # Daily: media files left by an upload whose row was never committed (library.media).
    "library-media-orphans": {
        "task": "library.tasks.library_media_orphans_remove",
        "schedule": crontab(hour=3, minute=45),
        "options": {"expires": 6 * 60 * 60},
    },
    # Every 15 minutes, a minute past each quarter hour: zones' midnights fall on the quarter
    # hours (UTC+5:45 too), so a plan's next phase begins within 15 minutes of the patient's.
    "plan-phases-advance": {
        "task": "careplans.tasks.plan_phases_advance_due",
        "schedule": crontab(minute="1-59/15"),
        "options": {"expires": 14 * 60},
    },
    # Hourly: FHIR bulk exports past FHIR_EXPORT_TTL_HOURS, and their files (fhir_r4.bulk).
    "fhir-exports-expire": {
        "task": "fhir_r4.tasks.fhir_exports_expire",
        "schedule": crontab(minute=25),
        "options": {"expires": 50 * 60},
    },
    "invitations-purge": {
        "task": "accounts.tasks.invitations_purge",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 6 * 60 * 60},
    },
}

__all__ = ["app", "crontab"]
