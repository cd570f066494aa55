"""Account pages: adding and inviting patients, accepting an invitation, API tokens, the audit search."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("patients/add/", views.patient_add, name="patient-add"),
    path(
        "patients/<int:patient_id>/invitation/",
        views.patient_invitation_resend,
        name="patient-invitation-resend",
    ),
    path("invite/new/", views.invitation_request, name="invitation-request"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("account/tokens/", views.tokens, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="account-token-revoke"),
    path("audit/", views.audit_search, name="audit-search"),
]
