"""Admin for alerts."""

from __future__ import annotations

from django.contrib import admin

from alerts.models import Alert
from audit.admin import AuditedReadsAdmin


@admin.register(Alert)
class AlertAdmin(AuditedReadsAdmin[Alert]):
    list_display = ["patient", "kind", "opened_at", "cleared_at", "acknowledged_at"]
    list_filter = ["kind"]
    # Raw ids, not selects: a select would list every patient's check-ins and every user.
    raw_id_fields = ["patient", "plan", "checkin", "acknowledged_by"]
