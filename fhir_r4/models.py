"""FHIR Bulk Data exports ($export): one request of a clinic's data, and the NDJSON files it wrote."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BulkExport(models.Model):
    """A bulk export of a clinic's Group (FHIR Bulk Data Access 2.0, group-level ``$export``).

    ``types``: the FHIR resource types asked for (all served types unless ``_type`` narrowed it);
    ``since``: only resources updated at or after it (``_since``), or None for all. ``progress`` is
    the words the status URL's X-Progress header says while it runs. The export and its files are
    the requester's alone, until ``expires`` (settings.FHIR_EXPORT_TTL_HOURS after the request).
    """

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(db_index=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Bulk export {self.pk} of clinic {self.clinic_id} ({self.status})"


class BulkExportFile(models.Model):
    """One NDJSON file of an export: every resource of one type, one per line. ``path`` is relative
    to settings.FHIR_EXPORT_DIR."""

    export = models.ForeignKey(BulkExport, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "resource_type"], name="fhir_export_file_one_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} of bulk export {self.export_id}"
