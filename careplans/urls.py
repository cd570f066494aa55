from django.urls import path

from careplans import outcome_views, plan_views, views

urlpatterns = [
    path("library/", views.library, name="library"),
    path("library/<slug:slug>/", views.exercise_detail, name="exercise-detail"),
    # The plan builder, history and handout (therapists of the plan's clinic).
    path("patients/<int:patient_id>/plans/new/", plan_views.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", plan_views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/details/", plan_views.plan_details_update, name="plan-details"),
    path("plans/<int:plan_id>/search/", plan_views.plan_search, name="plan-search"),
    path("plans/<int:plan_id>/exercises/", plan_views.plan_item_add, name="plan-item-add"),
    path(
        "plans/<int:plan_id>/exercises/<int:item_id>/", plan_views.plan_item_update, name="plan-item-update"
    ),
    path(
        "plans/<int:plan_id>/exercises/<int:item_id>/move/", plan_views.plan_item_move, name="plan-item-move"
    ),
    path(
        "plans/<int:plan_id>/exercises/<int:item_id>/remove/",
        plan_views.plan_item_remove,
        name="plan-item-remove",
    ),
    path("plans/<int:plan_id>/activate/", plan_views.plan_activate, name="plan-activate"),
    path("plans/<int:plan_id>/end/", plan_views.plan_end, name="plan-end"),
    path("plans/<int:plan_id>/history/", plan_views.plan_history, name="plan-history"),
    path("plans/<int:plan_id>/save-template/", plan_views.plan_save_template, name="plan-save-template"),
    path("plans/<int:plan_id>/handout/", plan_views.plan_handout, name="plan-handout"),
    path("plans/<int:plan_id>/handout.pdf", plan_views.plan_handout_pdf, name="plan-handout-pdf"),
    # The patient's own copy of the handout.
    path("today/handout/", plan_views.my_handout, name="my-handout"),
    path("today/handout.pdf", plan_views.my_handout_pdf, name="my-handout-pdf"),
    # Outcomes: the patient's progress, the clinic's report.
    path("progress/", outcome_views.progress, name="progress"),
    path("outcomes/", outcome_views.clinic_report, name="outcome-report"),
]
