"""Files: static files (whitenoise), exercise media (the filesystem or an S3 bucket) and their
thumbnails, and FHIR bulk export files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from portal.settings.env import BASE_DIR, PRODUCTION, VAR_DIR, envint, envlist

STATIC_URL = "/static/"
# portal/ is the project, not an installed app, so its static folder is named here.
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Exercise pictures and videos (library.media): files under var/media, or in an S3-compatible
# bucket when MEDIA_S3_BUCKET is set (django-storages; credentials from AWS_* variables). Never
# served by URL: library.media_views checks who asks, so MEDIA_URL is only a name prefix.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-files/"
MEDIA_STORAGE: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if os.environ.get("MEDIA_S3_BUCKET"):
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["MEDIA_S3_BUCKET"],
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
EXERCISE_IMAGE_MAX_BYTES = envint("EXERCISE_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
EXERCISE_VIDEO_MAX_BYTES = envint("EXERCISE_VIDEO_MAX_BYTES", 50 * 1024 * 1024)
# Hosts a video link may point to instead of an upload (https only).
EXERCISE_VIDEO_HOSTS = envlist(
    "EXERCISE_VIDEO_HOSTS", "www.youtube.com,youtube.com,youtu.be,vimeo.com,player.vimeo.com"
)
# The sizes pages show (library.media.THUMBNAIL_SIZES names them), made once at upload.
THUMBNAIL_ALIASES = {
    "": {
        "card": {"size": (320, 240), "crop": "smart"},
        "page": {"size": (960, 720)},
    }
}
THUMBNAIL_PRESERVE_EXTENSIONS = ("png", "webp")

STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# FHIR Bulk Data exports (fhir_r4.bulk): NDJSON files under var/fhir-exports, kept this many hours
# after the request and then deleted by the beat job fhir-exports-expire; rows read per batch; a type
# with more rows than FHIR_EXPORT_PART_ROWS is split by pk range into files written by tasks of their
# own, so every worker process shares the export (fhir_r4.export_writer).
FHIR_EXPORT_DIR = Path(os.environ.get("FHIR_EXPORT_DIR", VAR_DIR / "fhir-exports"))
FHIR_EXPORT_TTL_HOURS = int(os.environ.get("FHIR_EXPORT_TTL_HOURS", "24"))
FHIR_EXPORT_BATCH = 2000
FHIR_EXPORT_PART_ROWS = int(os.environ.get("FHIR_EXPORT_PART_ROWS", "100000"))
