"""Celery: the broker (Redis or, with nothing installed, kombu's filesystem transport), task
defaults, and the timing of the jobs' deliveries. The beat schedule is in portal.celery."""

from __future__ import annotations

from portal.settings.env import REDIS_URL, VAR_DIR, envbool, envint

# Redis when REDIS_URL is set, otherwise kombu's filesystem transport, which needs no server.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # Longer than any countdown or ETA we use, or Redis re-delivers them.
        "visibility_timeout": 2 * 60 * 60,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # The filesystem transport ignores the host, but kombu warns "No hostname was supplied" on
    # every publish to a URL without one (the make run terminal would show it on each check-in).
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is "control" in the current directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
# Publishing must never hang a request when the broker is down.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Reminder delivery (reminders/services.py). Every countdown stays far below
# the Redis visibility_timeout, and the send lease outlasts the task time limit
# (so a lease only ever runs out on a send that died).
REMINDER_SEND_LEASE = envint("PLINTH_REMINDER_SEND_LEASE", 300)
REMINDER_REQUEUE_AFTER = envint("PLINTH_REMINDER_REQUEUE_AFTER", 600)
REMINDER_RETRY_BACKOFF = envint("PLINTH_REMINDER_RETRY_BACKOFF", 60)
REMINDER_MAX_ATTEMPTS = 6
# The therapists' alert digest goes out in this hour of the clinic's own day.
ALERT_DIGEST_HOUR = 7
