from django.urls import path

from patients import checkin_views, settings_views, views

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("caseload/attention/", views.attention, name="attention"),
    path("today/", views.today, name="today"),
    path("today/exercises/<int:item_id>/", views.today_mark, name="today-mark"),
    path("patients/add/", views.patient_add, name="patient-add"),
    path("patients/<int:patient_id>/plans/", views.patient_plans_page, name="patient-plans"),
    path(
        "patients/<int:patient_id>/invitation/",
        views.patient_invitation_resend,
        name="patient-invitation-resend",
    ),
    path("invite/new/", views.invitation_request, name="invitation-request"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("checkin/", checkin_views.checkin, name="checkin"),
    path("checkin/done/", checkin_views.checkin_done, name="checkin-done"),
    path("patients/<int:patient_id>/", checkin_views.patient_record_page, name="patient-record"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        checkin_views.alert_acknowledge_view,
        name="alert-acknowledge",
    ),
    path("settings/", settings_views.settings_page, name="patient-settings"),
    path("reminders/stop/<str:token>/", settings_views.reminders_optout, name="reminders-optout"),
]
