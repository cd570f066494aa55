"""People and their clinics: users, clinics, therapists, patients, invitations, API tokens, sign-in."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
