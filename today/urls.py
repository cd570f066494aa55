"""The patient's pages: today's exercises, the daily check-in, their own data."""

from django.urls import path

from today import views

urlpatterns = [
    path("today/", views.today, name="today"),
    path("today/exercises/<int:plan_exercise_id>/", views.today_mark, name="today-mark"),
    path("checkin/", views.checkin, name="checkin"),
    path("checkin/done/", views.checkin_done, name="checkin-done"),
    path("checkin/<int:checkin_id>/correct/", views.checkin_correct_page, name="checkin-correct"),
    path("account/export/", views.data_export, name="account-export"),
]
