"""The plan builder, plan history and the printable handout."""

from django.urls import path

from careplans.views import builder, handout, phases, plans

urlpatterns = [
    path("patients/<int:patient_id>/plans/", plans.patient_plans_page, name="patient-plans"),
    # The plan builder, history and handout (therapists of the plan's clinic).
    path("patients/<int:patient_id>/plans/new/", plans.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", builder.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/details/", builder.plan_details_update, name="plan-details"),
    path("plans/<int:plan_id>/search/", builder.plan_search, name="plan-search"),
    path("plans/<int:plan_id>/exercises/", builder.plan_exercise_add, name="plan-exercise-add"),
    path(
        "plans/<int:plan_id>/exercises/<int:plan_exercise_id>/",
        builder.plan_exercise_update,
        name="plan-exercise-update",
    ),
    path(
        "plans/<int:plan_id>/exercises/<int:plan_exercise_id>/move/",
        builder.plan_exercise_move,
        name="plan-exercise-move",
    ),
    path(
        "plans/<int:plan_id>/exercises/<int:plan_exercise_id>/vary/",
        builder.plan_exercise_vary,
        name="plan-exercise-vary",
    ),
    path(
        "plans/<int:plan_id>/exercises/<int:plan_exercise_id>/remove/",
        builder.plan_exercise_remove,
        name="plan-exercise-remove",
    ),
    # A phased plan's phase: advance by hand, hold, release (issue 17).
    path("plans/<int:plan_id>/phase/advance/", phases.plan_phase_advance, name="plan-phase-advance"),
    path("plans/<int:plan_id>/phase/hold/", phases.plan_phase_hold, name="plan-phase-hold"),
    path("plans/<int:plan_id>/phase/release/", phases.plan_phase_release, name="plan-phase-release"),
    path("plans/<int:plan_id>/activate/", plans.plan_activate, name="plan-activate"),
    path("plans/<int:plan_id>/end/", plans.plan_end, name="plan-end"),
    path("plans/<int:plan_id>/history/", plans.plan_history, name="plan-history"),
    path("plans/<int:plan_id>/save-template/", plans.plan_save_template, name="plan-save-template"),
    path("plans/<int:plan_id>/handout/", handout.plan_handout, name="plan-handout"),
    path("plans/<int:plan_id>/handout.pdf", handout.plan_handout_pdf, name="plan-handout-pdf"),
    # The patient's own copy of the handout.
    path("today/handout/", handout.my_handout, name="my-handout"),
    path("today/handout.pdf", handout.my_handout_pdf, name="my-handout-pdf"),
]
