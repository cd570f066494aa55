"""Admin for pain check-ins (every one shown is an audited read)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin import AuditedReadsAdmin
from checkins.models import PainCheckIn


@admin.register(PainCheckIn)
class PainCheckInAdmin(AuditedReadsAdmin[PainCheckIn]):
    list_display = ["patient", "local_date", "nprs", "side", "received_at"]
    raw_id_fields = ["patient", "plan"]
    list_select_related = ["patient__user"]
