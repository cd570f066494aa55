"""The patient's daily check-in form: NPRS as eleven labelled choices, side, four red flags,
and the local date the page was rendered for (hidden), so an answer keeps its day."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.localday import LocalDateField
from checkins.models import PainCheckIn, Side
from library.models import DOSAGE_LIMITS
from today.services import NOTE_MAX


class SessionMarkForm(forms.Form):
    done = forms.TypedChoiceField(
        choices=[("1", "done"), ("0", "not done")], coerce=lambda value: value == "1"
    )
    # The day the Today page was rendered for; absent (an old page): the day it arrives.
    local_date = LocalDateField()
    # Which of the day's prescribed sessions (careplans.sessions checks it against the plan);
    # absent (an old page): the first.
    session = forms.IntegerField(
        required=False,
        min_value=DOSAGE_LIMITS["sessions_per_day"][0],
        max_value=DOSAGE_LIMITS["sessions_per_day"][1],
    )


NPRS_WORDS: dict[int, str] = {
    0: "no pain",
    1: "mild",
    2: "mild",
    3: "mild",
    4: "moderate",
    5: "moderate",
    6: "moderate",
    7: "severe",
    8: "severe",
    9: "severe",
    10: "worst pain imaginable",
}


#: Keys a client might send for the date other than ``local_date``: refused, with the reason,
#: rather than silently ignored (the time received is always the server's).
DATE_KEYS: tuple[str, ...] = ("date", "day", "received_at")


RED_FLAG_QUESTIONS: dict[str, str] = {
    "flag_leg_weakness": "Do you have new weakness in a leg?",
    "flag_bladder_bowel": "Have you lost control of your bladder or bowels?",
    "flag_fever": "Do you have a fever?",
    "flag_weight_loss": "Have you lost weight without trying?",
}


YES_NO = [("no", "No"), ("yes", "Yes")]


def _yes(value: str) -> bool:
    return value == "yes"


class CheckInForm(forms.Form):
    nprs = forms.TypedChoiceField(
        label="How much pain do you have right now?",
        choices=[(str(n), f"{n}, {NPRS_WORDS[n]}") for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how much pain you have right now, from 0 to 10.",
            "invalid_choice": "Pain must be a whole number from 0 to 10.",
        },
    )
    side = forms.ChoiceField(
        label="Where is the pain?",
        choices=Side.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose which side the pain is on.",
            "invalid_choice": f"Side must be one of: {', '.join(Side.values)}.",
        },
    )
    note = forms.CharField(
        label="Anything else to tell your therapist? (optional)",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The day the page was rendered for; absent (an old page): the day it arrives.
    local_date = LocalDateField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No initial answer: a "No" chosen for the patient would be recorded for a question
        # they never read. Each one is answered, yes or no, or the check-in is refused.
        for name, question in RED_FLAG_QUESTIONS.items():
            self.fields[name] = forms.TypedChoiceField(
                label=question,
                choices=YES_NO,
                coerce=_yes,
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Answer this question, yes or no.",
                    "invalid_choice": "Answer yes or no.",
                },
            )

    @property
    def unanswered_red_flags(self) -> list[str]:
        """The red-flag questions sent without an answer, in the form's order (bound forms only)."""
        return [question for name, question in RED_FLAG_QUESTIONS.items() if not self.data.get(name)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        unanswered = self.unanswered_red_flags
        if unanswered:
            # Named at the top too: the questions sit below the fold on a phone.
            self.add_error(
                None,
                forms.ValidationError(
                    f"Answer each safety question, yes or no. Not answered yet: {' '.join(unanswered)}",
                    code="red_flag_unanswered",
                ),
            )
        sent = [key for key in DATE_KEYS if key in self.data]
        if sent:
            raise forms.ValidationError(
                "The day of a check-in is the form's own (local_date); another date sent with the "
                f"form is not accepted ({', '.join(sent)}).",
                code="date_not_accepted",
            )
        return cleaned

    @property
    def nprs_options(self) -> list[tuple[Any, int, str, str]]:
        """(radio, number, words, short words) for the template's eleven tiles."""
        options = []
        for radio in self["nprs"]:
            number = int(radio.data["value"])
            words = NPRS_WORDS[number]
            options.append((radio, number, words, "worst" if number == 10 else words))
        return options

    @property
    def red_flag_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PainCheckIn.RED_FLAG_FIELDS]


class CheckInCorrectionForm(CheckInForm):
    """The answers of a recent check-in, to correct (today.corrections): its day never moves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["local_date"]
        # The answers are about that day, not about now.
        self.fields["nprs"].label = "How much pain did you have that day?"
        self.fields["nprs"].error_messages["required"] = (
            "Choose how much pain you had that day, from 0 to 10."
        )

    @classmethod
    def initial_of(cls, checkin: PainCheckIn) -> dict[str, Any]:
        """The form's initial values: ``checkin``'s answers as the page's radios spell them."""
        return {
            "nprs": str(checkin.nprs),
            "side": checkin.side,
            "note": checkin.note,
            **{name: "yes" if getattr(checkin, name) else "no" for name in RED_FLAG_QUESTIONS},
        }
