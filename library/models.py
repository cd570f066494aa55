"""The exercise library: body regions, exercises with their default dosage, plan templates."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic, User

# Dosage limits, shared by the library, templates and plans. The database
# enforces the same ranges, so no path can store a dose outside them.
DOSAGE_LIMITS: dict[str, tuple[int, int]] = {
    "sets": (1, 10),
    "reps": (0, 50),
    "hold_seconds": (0, 300),
    "sessions_per_day": (1, 6),
    "days_per_week": (1, 7),
}


def _dose_field(name: str, default: int, verbose: str) -> models.PositiveSmallIntegerField[int, int]:
    low, high = DOSAGE_LIMITS[name]
    return models.PositiveSmallIntegerField(
        default=default,
        verbose_name=verbose,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        help_text=f"{low} to {high}",
    )


def validate_video_link(value: str) -> None:
    """A video link must be https and on one of settings.EXERCISE_VIDEO_HOSTS (YouTube, Vimeo
    by default): a patient follows it from their plan, so it may not lead anywhere else."""
    parts = urlsplit(value)
    hosts = settings.EXERCISE_VIDEO_HOSTS
    if parts.scheme != "https" or (parts.hostname or "").lower() not in hosts:
        raise ValidationError(
            f"Link to the video on {', '.join(sorted(hosts))} (an https address), or upload it.",
            code="video_host",
        )


def dosage_constraints(prefix: str) -> list[models.BaseConstraint]:
    checks: list[models.BaseConstraint] = [
        models.CheckConstraint(
            condition=Q(**{f"{name}__gte": low, f"{name}__lte": high}),
            name=f"{prefix}_{name}_range",
        )
        for name, (low, high) in DOSAGE_LIMITS.items()
    ]
    checks.append(
        models.CheckConstraint(condition=Q(reps__gt=0) | Q(hold_seconds__gt=0), name=f"{prefix}_reps_or_hold")
    )
    return checks


class Dosage(models.Model):
    sets = _dose_field("sets", 2, "sets")
    reps = _dose_field("reps", 10, "reps")
    hold_seconds = _dose_field("hold_seconds", 0, "hold (seconds)")
    sessions_per_day = _dose_field("sessions_per_day", 1, "sessions per day")
    days_per_week = _dose_field("days_per_week", 7, "days per week")

    class Meta:
        abstract = True

    @property
    def dosage_text(self) -> str:
        parts = [f"{self.sets} set{'s' if self.sets != 1 else ''}"]
        if self.reps:
            parts.append(f"{self.reps} reps")
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds} s")
        per_day = "once a day" if self.sessions_per_day == 1 else f"{self.sessions_per_day} times a day"
        per_week = "every day" if self.days_per_week == 7 else f"{self.days_per_week} days a week"
        return f"{' x '.join(parts[:2])}{', ' + parts[2] if len(parts) > 2 else ''}, {per_day}, {per_week}"


class BodyRegion(models.Model):
    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Category(models.TextChoices):
    MOBILITY = "mobility", "Mobility"
    STRETCH = "stretch", "Stretch"
    STRENGTH = "strength", "Strength"
    STABILITY = "stability", "Stability"
    BALANCE = "balance", "Balance"
    AEROBIC = "aerobic", "Aerobic"


class Equipment(models.TextChoices):
    NONE = "none", "No equipment"
    MAT = "mat", "Mat"
    BAND = "band", "Resistance band"
    CHAIR = "chair", "Chair"
    WALL = "wall", "Wall"
    BALL = "ball", "Ball"
    STEP = "step", "Step"
    TOWEL = "towel", "Towel"
    WEIGHTS = "weights", "Light weights"
    FOAM_ROLLER = "foam-roller", "Foam roller"


class Difficulty(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class ExerciseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Exercise(Dosage):
    """A library exercise. Therapists pick only published ones.

    ``clinic`` None: the shared library, curated by staff in the admin. Otherwise the
    clinic's own exercise, written by its therapists (from scratch or copied from a
    shared one, ``copied_from``) and seen only by that clinic and its patients
    (``library.selectors.visible_exercises``).
    """

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="own_exercises"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="clinic_copies"
    )
    # The next step up (a bridge's is the single-leg bridge): the builder's "progress" swaps
    # it in, and "regress" swaps in an exercise whose harder variant this one is.
    harder = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="easier_variants",
        verbose_name="harder variant",
        help_text="The exercise a patient progresses to from this one, if any.",
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    summary = models.CharField(max_length=300)
    instructions = models.TextField(help_text="One step per line.")
    regions = models.ManyToManyField(BodyRegion, related_name="exercises")
    category = models.CharField(max_length=16, choices=Category.choices)
    equipment = models.CharField(max_length=16, choices=Equipment.choices, default=Equipment.NONE)
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, default=Difficulty.BEGINNER)
    image_url = models.URLField(blank=True)
    video_url = models.URLField(
        blank=True,
        validators=[validate_video_link],
        verbose_name="video link",
        help_text="Instead of uploading a video: an https link to it on YouTube or Vimeo.",
    )
    precautions = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ExerciseStatus.choices, default=ExerciseStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *dosage_constraints("exercise"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="exercise_category_valid"),
            models.CheckConstraint(
                condition=Q(equipment__in=Equipment.values), name="exercise_equipment_valid"
            ),
            models.CheckConstraint(
                condition=Q(difficulty__in=Difficulty.values), name="exercise_difficulty_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExerciseStatus.values), name="exercise_status_valid"
            ),
            models.CheckConstraint(condition=~Q(harder=models.F("pk")), name="exercise_harder_not_itself"),
        ]
        indexes = [models.Index(fields=["status", "name"]), models.Index(fields=["clinic", "status", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        """Whether the exercise is the shared library's (staff's), not a clinic's own."""
        return self.clinic_id is None

    @property
    def pictures(self) -> list[ExerciseMedia]:
        """The exercise's pictures in order (from ``media`` as prefetched: list pages prefetch it)."""
        return [item for item in self.media.all() if item.kind == MediaKind.IMAGE]

    @property
    def uploaded_video(self) -> ExerciseMedia | None:
        """The exercise's uploaded video, if any (from ``media`` as prefetched)."""
        return next((item for item in self.media.all() if item.kind == MediaKind.VIDEO), None)

    @property
    def video_host(self) -> str:
        """The host a video link points to (``www.youtube.com``), for "Watch it on ..." words."""
        return (urlsplit(self.video_url).hostname or "").removeprefix("www.")

    @property
    def steps(self) -> list[str]:
        return [line.strip() for line in self.instructions.splitlines() if line.strip()]


def media_upload_name(instance: ExerciseMedia, filename: str) -> str:
    """Where an upload is stored: a generated name, never the uploader's name or path.

    ``filename`` is ignored but for its extension, which ``library.media`` has already
    set from what the file is (``.jpg``, ``.png``, ``.webp``, ``.mp4``, ``.webm``).
    """
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"exercise-media/{instance.key.hex}.{extension}"


class MediaKind(models.TextChoices):
    IMAGE = "image", "Picture"
    VIDEO = "video", "Video"


class ExerciseMedia(models.Model):
    """A picture or the video of an exercise, as ``library.media`` checked and stored it.

    Pictures are ordered by ``position`` (the first is the exercise's thumbnail on cards,
    the Today page and the handout); an exercise has at most one video. ``description``
    is a picture's alt text or a video's caption. ``key`` names the file and its address
    (``library.media_views``), which serves it only to those who may see the exercise.
    """

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=8, choices=MediaKind.choices)
    file = models.FileField(upload_to=media_upload_name, max_length=200)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    description = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MediaKind.values), name="exercise_media_kind_valid"),
            models.UniqueConstraint(
                fields=["exercise"], condition=Q(kind="video"), name="exercise_media_one_video"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.exercise_id}: {self.description}"

    def url(self, size: str = "original") -> str:
        """The address that serves the file (``size``: original, card or page), checking who asks."""
        return reverse("exercise-media-file", args=[self.key, size])

    @property
    def card_url(self) -> str:
        return self.url("card")

    @property
    def page_url(self) -> str:
        return self.url("page")

    @property
    def page_size(self) -> tuple[int, int]:
        """Width and height in pixels of the ``page`` thumbnail (within 960 x 720, never enlarged)."""
        width, height = self.width or 960, self.height or 720
        scale = min(960 / width, 720 / height, 1.0)
        return max(round(width * scale), 1), max(round(height * scale), 1)


DOSE_LABELS: dict[str, str] = {
    "sets": "sets",
    "reps": "reps",
    "hold_seconds": "hold (s)",
    "sessions_per_day": "sessions a day",
    "days_per_week": "days a week",
}
