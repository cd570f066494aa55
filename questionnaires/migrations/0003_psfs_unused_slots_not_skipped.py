"""A PSFS activity slot left unused (no name, no rating) is no longer counted as a skipped item
(``scoring.instrument_score``): recount ``skipped`` of the responses already sent."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _recount(apps: Any, schema_editor: Any) -> None:
    from questionnaires.definitions import definition_checked

    response_model = apps.get_model("questionnaires", "InstrumentResponse")
    for response in response_model.objects.filter(status="completed").select_related("instrument"):
        items = definition_checked(response.instrument.definition).items
        if not any(item.activity for item in items):
            continue
        skipped = sum(
            1 for item in items if response.answers.get(item.link_id) is None and item.activity is None
        )
        if skipped != response.skipped:
            response.skipped = skipped
            response.save(update_fields=["skipped"])


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0002_responses")]

    operations = [migrations.RunPython(_recount, migrations.RunPython.noop)]
