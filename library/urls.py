"""The exercise library."""

from django.urls import path

from library import views

urlpatterns = [
    path("library/", views.library, name="library"),
    path("library/<slug:slug>/", views.exercise_detail, name="exercise-detail"),
]
