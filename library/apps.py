"""The shared exercise library and the clinic's plan templates."""

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = "Library"
