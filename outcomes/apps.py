"""Outcome rules, the per-plan outcome snapshots and their refresh, the clinic report and exports."""

from django.apps import AppConfig

from outcomes import aggregates


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        # Every SQLite connection opened from now on gets the percentile aggregate.
        aggregates.connect()
        # A sent questionnaire refreshes its plan's outcome figures (questionnaires is below outcomes,
        # so it signals rather than calls).
        from outcomes.services import outcome_recompute_after_response
        from questionnaires.signals import response_completed

        response_completed.connect(
            outcome_recompute_after_response, dispatch_uid="outcomes.response_completed"
        )
