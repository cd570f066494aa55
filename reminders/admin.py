"""Admin for reminder deliveries."""

from __future__ import annotations

from django.contrib import admin

from audit.admin import AuditedReadsAdmin
from reminders.models import ReminderDelivery


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(AuditedReadsAdmin[ReminderDelivery]):
    list_display = ["patient", "local_date", "kind", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["patient"]
