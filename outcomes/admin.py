"""Admin for outcome snapshots (read-only)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin import AuditedReadsAdmin
from outcomes.models import OutcomeSnapshot


@admin.register(OutcomeSnapshot)
class OutcomeSnapshotAdmin(AuditedReadsAdmin[OutcomeSnapshot]):
    list_display = ["plan", "baseline", "current", "endpoint", "percent_change", "responder", "computed_at"]
    raw_id_fields = ["plan"]
