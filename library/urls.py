"""The exercise library, and a clinic's own exercises."""

from django.urls import path

from library import media_views, views

urlpatterns = [
    path("library/", views.library, name="library"),
    path("library/new/", views.exercise_new, name="exercise-new"),
    path("library/<slug:slug>/", views.exercise_detail, name="exercise-detail"),
    path("library/<slug:slug>/edit/", views.exercise_edit, name="exercise-edit"),
    path("library/<slug:slug>/copy/", views.exercise_copy, name="exercise-copy"),
    path("library/<slug:slug>/status/", views.exercise_status, name="exercise-status"),
    path("library/<slug:slug>/discard/", views.exercise_discard, name="exercise-discard"),
    path("library/<slug:slug>/media/", media_views.exercise_media_upload, name="exercise-media-upload"),
    path(
        "library/<slug:slug>/media/<uuid:key>/remove/",
        media_views.exercise_media_delete,
        name="exercise-media-remove",
    ),
    path(
        "library/<slug:slug>/media/<uuid:key>/move/",
        media_views.exercise_media_reorder,
        name="exercise-media-move",
    ),
    path("media/<uuid:key>/<str:size>/", media_views.exercise_media_file, name="exercise-media-file"),
]
