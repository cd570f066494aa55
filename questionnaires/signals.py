"""What the questionnaires app tells the apps above it, without importing them.

``response_completed`` is sent once a completed response's transaction has committed, with
``plan_id`` (int) and ``response_id`` (int): outcomes connects its recompute to it (outcomes.apps),
as a check-in's save asks for one, so the plan's questionnaire figures follow a submission. A
receiver must not raise: the response is already saved.
"""

from __future__ import annotations

from django.dispatch import Signal

response_completed = Signal()
