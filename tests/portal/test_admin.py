"""The exercise library in the Django admin: list, search, filters, actions, preview."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from library.models import BodyRegion, Category, Equipment, Exercise, ExerciseStatus
from tests.conftest import Personas
from tests.factories import BodyRegionFactory, ExerciseFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:library_exercise_changelist"


@pytest.fixture
def staff_client(client: Client, personas: Personas) -> Client:
    client.force_login(personas.staff)
    return client


def _listed(response: Any) -> set[str]:
    return {exercise.name for exercise in response.context["cl"].result_list}


@pytest.fixture
def exercises(db: Any) -> dict[str, Exercise]:
    knee = BodyRegionFactory(name="Knee", slug="knee")
    neck = BodyRegionFactory(name="Neck", slug="neck")
    return {
        "draft": ExerciseFactory(
            name="Chin tuck", status=ExerciseStatus.DRAFT, regions=[neck], equipment=Equipment.NONE
        ),
        "published": ExerciseFactory(
            name="Step up",
            summary="Step onto a low step.",
            category=Category.STRENGTH,
            equipment=Equipment.STEP,
            regions=[knee],
        ),
        "archived": ExerciseFactory(
            name="Knee hug", status=ExerciseStatus.ARCHIVED, category=Category.STRETCH, regions=[knee]
        ),
    }


def test_changelist_shows_every_status(staff_client: Client, exercises: dict[str, Exercise]) -> None:
    response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert _listed(response) == {"Chin tuck", "Step up", "Knee hug"}
    assert "Knee" in response.content.decode()  # the regions column


def test_changelist_query_count_is_flat(
    staff_client: Client, exercises: dict[str, Exercise], django_assert_max_num_queries: Any
) -> None:
    staff_client.get(reverse(CHANGELIST))
    with django_assert_max_num_queries(20) as small:
        staff_client.get(reverse(CHANGELIST))
    region = BodyRegionFactory(name="Hip", slug="hip")
    for n in range(20):
        ExerciseFactory(name=f"More {n}", regions=[region])
    with django_assert_max_num_queries(20) as large:
        staff_client.get(reverse(CHANGELIST))
    assert len(small) == len(large)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "step onto"}, {"Step up"}),
        ({"q": "chin"}, {"Chin tuck"}),
        ({"status__exact": "draft"}, {"Chin tuck"}),
        ({"status__exact": "archived"}, {"Knee hug"}),
        ({"regions__id__exact": "knee"}, {"Step up", "Knee hug"}),
        ({"category__exact": "stretch"}, {"Knee hug"}),
        ({"equipment__exact": "step"}, {"Step up"}),
    ],
)
def test_search_and_filters(
    staff_client: Client, exercises: dict[str, Exercise], params: dict[str, str], expected: set[str]
) -> None:
    if "regions__id__exact" in params:  # the admin filters regions by id
        params = {"regions__id__exact": str(BodyRegion.objects.get(slug=params["regions__id__exact"]).pk)}
    response = staff_client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    assert _listed(response) == expected


def test_filter_sidebar_offers_status_region_category_and_equipment(
    staff_client: Client, exercises: dict[str, Exercise]
) -> None:
    response = staff_client.get(reverse(CHANGELIST))
    titles = {str(spec.title) for spec in response.context["cl"].filter_specs}
    assert {"status", "regions", "category", "equipment"} <= titles


def _act(client: Client, action: str, *exercises: Exercise) -> Any:
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [str(e.pk) for e in exercises]},
        follow=True,
    )


def test_publish_action_publishes_and_audits(
    staff_client: Client, personas: Personas, exercises: dict[str, Exercise]
) -> None:
    response = _act(staff_client, "publish", exercises["draft"], exercises["published"])
    assert response.status_code == 200
    assert "1 exercise published." in response.content.decode()
    exercises["draft"].refresh_from_db()
    assert exercises["draft"].status == ExerciseStatus.PUBLISHED
    events = list(AuditEvent.objects.filter(action="exercise.published"))
    assert [(e.object_id, e.actor_id, e.data["from"]) for e in events] == [
        (str(exercises["draft"].pk), personas.staff.pk, "draft")
    ]
    # Now therapists see it.
    staff_client.force_login(personas.owner.user)
    assert staff_client.get(reverse("exercise-detail", args=[exercises["draft"].slug])).status_code == 200


def test_archive_action_archives_and_hides_from_the_library(
    staff_client: Client, personas: Personas, exercises: dict[str, Exercise]
) -> None:
    before = exercises["published"].updated_at
    response = _act(staff_client, "archive", exercises["published"], exercises["archived"])
    assert "1 exercise archived." in response.content.decode()
    exercises["published"].refresh_from_db()
    assert exercises["published"].status == ExerciseStatus.ARCHIVED
    assert exercises["published"].updated_at > before
    assert AuditEvent.objects.filter(action="exercise.archived").count() == 1
    staff_client.force_login(personas.owner.user)
    library = staff_client.get(reverse("library"))
    assert "Step up" not in library.content.decode()


def test_actions_on_a_region_filtered_list_work(staff_client: Client, exercises: dict[str, Exercise]) -> None:
    region_id = exercises["published"].regions.get().pk
    response = staff_client.post(
        reverse(CHANGELIST) + f"?regions__id__exact={region_id}",
        {"action": "archive", "select_across": "1", ACTION_CHECKBOX_NAME: [str(exercises["published"].pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(Exercise.objects.filter(status="archived").values_list("name", flat=True)) == {
        "Step up",
        "Knee hug",
    }


def test_change_page_renders_a_readable_preview(staff_client: Client, exercises: dict[str, Exercise]) -> None:
    exercise = exercises["published"]
    exercise.instructions = "Face the step.\nStep up with the sore leg.\nStep down slowly."
    exercise.precautions = "Hold a rail if you feel unsteady."
    exercise.save()
    response = staff_client.get(reverse("admin:library_exercise_change", args=[exercise.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="plinth-preview"><h3>Step up</h3>' in html
    assert "<li>Step up with the sore leg.</li>" in html
    assert exercise.dosage_text in html
    assert "Hold a rail if you feel unsteady." in html
    assert "Knee · Strength · Step · Beginner" in html


def test_preview_escapes_html(staff_client: Client, db: Any) -> None:
    exercise = ExerciseFactory(name="<script>alert(1)</script>")
    html = staff_client.get(reverse("admin:library_exercise_change", args=[exercise.pk])).content.decode()
    assert "<h3><script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_add_page_explains_the_preview_comes_after_saving(staff_client: Client) -> None:
    response = staff_client.get(reverse("admin:library_exercise_add"))
    assert response.status_code == 200
    assert "Save the exercise to see its preview." in response.content.decode()


def test_therapist_cannot_open_the_admin(client: Client, personas: Personas) -> None:
    client.force_login(personas.owner.user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_templates_author_is_offered_from_staff_and_therapists_only(
    staff_client: Client, personas: Personas
) -> None:
    """Issue 15: the admin's plan template offers only staff or therapists as "created by"."""
    html = staff_client.get(reverse("admin:library_plantemplate_add")).content.decode()
    select = html.split('name="created_by"', 1)[1].split("</select>", 1)[0]
    for offered in (personas.staff, personas.owner.user, personas.outsider.user):
        assert f">{offered}</option>" in select, offered
    for patient in (personas.patient_a.user, personas.patient_b.user):
        assert f">{patient}</option>" not in select, patient


def _change_data(exercise: Exercise, **media: Any) -> dict[str, Any]:
    fields = ["name", "slug", "status", "summary", "instructions", "precautions", "category", "equipment"]
    fields += ["difficulty", "sets", "reps", "hold_seconds", "sessions_per_day", "days_per_week"]
    data: dict[str, Any] = {name: getattr(exercise, name) for name in fields}
    data.update(regions=[r.pk for r in exercise.regions.all()], harder="", image_url="", video_url="")
    data.update({"media-TOTAL_FORMS": "1", "media-INITIAL_FORMS": "0", "media-MIN_NUM_FORMS": "0"})
    data.update({"media-MAX_NUM_FORMS": "1000", "media-0-id": "", "media-0-exercise": exercise.pk})
    data.update({f"media-0-{name}": value for name, value in media.items()})
    return data


def test_staff_add_a_picture_to_a_shared_exercise_through_the_same_checks(
    staff_client: Client, exercises: dict[str, Exercise], settings: Any, tmp_path: Any
) -> None:
    from library.models import ExerciseMedia
    from tests.media_files import picture, upload

    settings.MEDIA_ROOT = tmp_path
    exercise = exercises["published"]
    url = reverse("admin:library_exercise_change", args=[exercise.pk])
    refused = staff_client.post(
        url, _change_data(exercise, upload=upload(b"MZ" + b"\0" * 300), description="x", position="0")
    )
    assert refused.status_code == 200 and "It looks like a .exe file." in refused.content.decode()
    assert not ExerciseMedia.objects.exists()
    saved = staff_client.post(
        url, _change_data(exercise, upload=upload(picture(gps=True)), description="Stepping up", position="0")
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    media = ExerciseMedia.objects.get()
    assert (media.exercise, media.description, media.content_type) == (exercise, "Stepping up", "image/jpeg")
    assert media.file.name.startswith("exercise-media/") and (tmp_path / media.file.name).is_file()
    assert AuditEvent.objects.filter(action="exercise.media_added", actor=media.created_by).exists()


def test_two_new_videos_in_one_admin_save_are_refused_together(
    staff_client: Client, exercises: dict[str, Exercise], settings: Any, tmp_path: Any
) -> None:
    from library.models import ExerciseMedia
    from tests.media_files import mp4_header, upload

    settings.MEDIA_ROOT = tmp_path
    exercise = exercises["published"]
    data = _change_data(exercise, upload=upload(mp4_header(4096), "a.mp4"), description="One", position="0")
    data.update({"media-TOTAL_FORMS": "2", "media-1-id": "", "media-1-exercise": exercise.pk})
    data.update({"media-1-upload": upload(mp4_header(4096), "b.mp4"), "media-1-description": "Two"})
    data["media-1-position"] = "1"
    response = staff_client.post(reverse("admin:library_exercise_change", args=[exercise.pk]), data)
    assert response.status_code == 200
    assert "An exercise has one video: upload one of them." in response.content.decode()
    assert not ExerciseMedia.objects.exists()
