"""Messages: the patient's page, the therapist's inbox and each patient's conversation."""

from django.urls import path

from conversations import views

urlpatterns = [
    path("messages/", views.patient_messages, name="messages"),
    path("messages/thread/", views.patient_thread, name="messages-thread"),
    path("messages/unread/", views.unread_badge, name="messages-unread"),
    path("messages/emails/", views.message_emails, name="message-emails"),
    path("inbox/", views.inbox_page, name="inbox"),
    path("inbox/list/", views.inbox_list, name="inbox-list"),
    path("patients/<int:patient_id>/messages/", views.patient_conversation, name="patient-conversation"),
    path(
        "patients/<int:patient_id>/messages/thread/",
        views.patient_conversation_thread,
        name="patient-conversation-thread",
    ),
    path(
        "patients/<int:patient_id>/messages/close/",
        views.patient_conversation_close,
        name="patient-conversation-close",
    ),
]
