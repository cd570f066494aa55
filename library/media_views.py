"""Pages of an exercise's pictures and video: a clinic's therapists add, order and remove them
on their own exercises; anyone who may see an exercise gets its files, through a view that
checks who asks (never a public URL), a video in byte ranges so a phone can seek."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from easy_thumbnails.files import get_thumbnailer

from accounts.access import login_next, therapist_of, therapist_required
from accounts.forms import clinic_of_user
from accounts.models import User
from library.forms import ClinicExerciseForm, ExerciseMediaForm
from library.media import THUMBNAIL_SIZES, exercise_media_add, exercise_media_move, exercise_media_remove
from library.models import Exercise, ExerciseMedia, ExerciseStatus, MediaKind
from library.selectors import own_exercise
from portal.access import client_ip
from portal.caching import cache_privately
from portal.errors import DomainError
from portal.pages import form_error
from portal.ranges import ranged_file_response

#: A stored file never changes under its name (each upload gets a new one): a day in the
#: user's own browser cache, so Today's pictures are not fetched again each morning.
MEDIA_CACHE_SECONDS = 24 * 3600


def exercise_form_page(
    request: HttpRequest,
    form: ClinicExerciseForm,
    exercise: Exercise | None,
    status: int,
    media_form: ExerciseMediaForm | None = None,
) -> HttpResponse:
    """The page that writes a clinic's exercise, with its pictures and video once it is saved."""
    context = {
        "form": form,
        "exercise": exercise,
        "media_form": media_form or ExerciseMediaForm(),
        "pictures": exercise.pictures if exercise is not None else [],
        "video": exercise.uploaded_video if exercise is not None else None,
    }
    return render(request, "library/exercise_form.html", context, status=status)


def _own(request: HttpRequest, slug: str) -> Exercise:
    exercise = own_exercise(slug=slug, clinic=therapist_of(request).clinic)
    if exercise is None:
        raise Http404("No such exercise of your clinic")
    return exercise


def _own_media(exercise: Exercise, key: UUID) -> ExerciseMedia:
    media = exercise.media.filter(key=key).first()
    if media is None:
        raise Http404("No such picture or video")
    return media


@therapist_required
@require_POST
def exercise_media_upload(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = _own(request, slug)
    therapist = therapist_of(request)
    media_form = ExerciseMediaForm(request.POST, request.FILES)
    if media_form.is_valid():
        try:
            media = exercise_media_add(
                exercise=exercise,
                by=therapist.user,
                upload=media_form.cleaned_data["file"],
                description=media_form.cleaned_data["description"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            form_error(media_form, exc)
        else:
            what = "video" if media.kind == MediaKind.VIDEO else "picture"
            messages.success(request, f"The {what} is added to {exercise.name}.")
            return redirect(f"{exercise_edit_url(exercise)}#media")
    form = ClinicExerciseForm(instance=exercise, clinic=therapist.clinic)
    return exercise_form_page(request, form, exercise, 400, media_form)


def exercise_edit_url(exercise: Exercise) -> str:
    return reverse("exercise-edit", args=[exercise.slug])


@therapist_required
@require_POST
def exercise_media_delete(request: HttpRequest, slug: str, key: UUID) -> HttpResponse:
    exercise = _own(request, slug)
    media = _own_media(exercise, key)
    exercise_media_remove(media=media, by=therapist_of(request).user, ip=client_ip(request))
    messages.success(request, f"Removed: {media.description}")
    return redirect(f"{exercise_edit_url(exercise)}#media")


@therapist_required
@require_POST
def exercise_media_reorder(request: HttpRequest, slug: str, key: UUID) -> HttpResponse:
    exercise = _own(request, slug)
    media = _own_media(exercise, key)
    exercise_media_move(
        media=media,
        by=therapist_of(request).user,
        earlier=request.POST.get("direction") == "earlier",
        ip=client_ip(request),
    )
    # Back to the picture moved, where the keyboard's next Tab continues.
    return redirect(f"{exercise_edit_url(exercise)}#media-{media.key}")


def media_visible_to(media: ExerciseMedia, user: User) -> bool:
    """Whether ``user`` may have ``media``'s file: a shared exercise's (published, or any to
    staff) by any signed-in user; a clinic's own exercise's by that clinic's therapists
    and patients only (anyone else gets a 404, as for the exercise itself)."""
    exercise = media.exercise
    if exercise.clinic_id is None:
        return exercise.status != ExerciseStatus.DRAFT or user.is_staff
    clinic = clinic_of_user(user)
    return clinic is not None and clinic.pk == exercise.clinic_id


@require_GET
def exercise_media_file(request: HttpRequest, key: UUID, size: str) -> HttpResponseBase:
    """An exercise's picture (``size`` ``original``, or a thumbnail size: ``card``, ``page``)
    or video (``original``), to a user who may see it; a video in byte ranges."""
    if not request.user.is_authenticated:
        return redirect_to_login(login_next(request))
    if size != "original" and size not in THUMBNAIL_SIZES:
        raise Http404("No such size")
    media = ExerciseMedia.objects.select_related("exercise").filter(key=key).first()
    if media is None or not media_visible_to(media, request.user):
        raise Http404("No such picture or video")
    if size == "original" or media.kind == MediaKind.VIDEO:
        stored = media.file
        content_type = media.content_type
    else:
        stored = get_thumbnailer(media.file)[size]
        content_type = "image/png" if stored.name.endswith(".png") else "image/jpeg"
        if stored.name.endswith(".webp"):
            content_type = "image/webp"
    name = str(stored.name)
    try:
        opened = stored.storage.open(name, "rb")
        length = stored.storage.size(name)
    except FileNotFoundError as error:
        raise Http404("The file is missing") from error
    response = ranged_file_response(request, opened, size=length, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return cache_privately(response, seconds=MEDIA_CACHE_SECONDS)
