"""The exercise library, and a clinic's own exercises."""

from django.urls import path

from library import views

urlpatterns = [
    path("library/", views.library, name="library"),
    path("library/new/", views.exercise_new, name="exercise-new"),
    path("library/<slug:slug>/", views.exercise_detail, name="exercise-detail"),
    path("library/<slug:slug>/edit/", views.exercise_edit, name="exercise-edit"),
    path("library/<slug:slug>/copy/", views.exercise_copy, name="exercise-copy"),
    path("library/<slug:slug>/status/", views.exercise_status, name="exercise-status"),
]
