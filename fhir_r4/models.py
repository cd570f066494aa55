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
    ``since``: only resources updated at or after it (``_since``), or None for all. Once running,
    it is written in ``parts`` files (``BulkExportFile``: a type's rows, or a pk range of them), each
    by a task of its own; ``parts_done`` counts those finished, and the one that makes it ``parts``
    marks the export done (fhir_r4.export_writer). ``progress`` says what the export is at before its
    parts are planned. The export and its files are the requester's alone, until ``expires``
    (settings.FHIR_EXPORT_TTL_HOURS after the request, then after it is done).
    """

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    parts = models.PositiveIntegerField(default=0)
    parts_done = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(db_index=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Bulk export {self.pk} of clinic {self.clinic_id} ({self.status})"


class BulkExportFile(models.Model):
    """One NDJSON file of an export, one resource per line: part ``part`` (from 1) of the resources
    of one type, from its source number ``source`` (``fhir_r4.selectors.RESOURCE_TYPES[type].sources``,
    from 0), those whose pk is at least ``pk_from`` and below ``pk_to`` (None: no bound), written
    by one task. ``count``: the resources written so far (all of them once ``finished``). ``path`` is
    relative to settings.FHIR_EXPORT_DIR."""

    export = models.ForeignKey(BulkExport, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=40)
    source = models.PositiveSmallIntegerField(default=0)
    part = models.PositiveIntegerField(default=1)
    pk_from = models.BigIntegerField(null=True, blank=True)
    pk_to = models.BigIntegerField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0)
    finished = models.BooleanField(default=False)
    path = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["export", "resource_type", "part"], name="fhir_export_file_one_per_part"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} part {self.part} of bulk export {self.export_id}"
