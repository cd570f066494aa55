"""What a "yes" to a red-flag question asks the patient to do, most urgent first.

The four red flags are DESIGN.md's (``PainCheckIn.RED_FLAG_FIELDS``). Each has one
urgency, and the guidance after a check-in gives the instruction of the most urgent
flag answered yes, once; the other flags are named under it, never with a second,
weaker instruction beside it.

Sources:

- NICE guideline NG59, "Low back pain and sciatica in over 16s: assessment and
  management" (2016, updated 2020), recommendation 1.1.1: think about alternative
  diagnoses, particularly with new or changed symptoms, and exclude specific causes of
  low back pain such as cancer, infection, trauma or inflammatory disease. New leg
  weakness (a nerve root under pressure), fever (infection) and unexplained weight
  loss (cancer) are such symptoms: the patient sees a doctor the same day.
- NHS, "Cauda equina syndrome" (nhs.uk/conditions/cauda-equina-syndrome/): back pain
  with loss of bladder or bowel control is an emergency: call 999 or go to A&E. The
  nerves need decompressing within hours, so it outranks every other flag.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from checkins.models import PainCheckIn


class Urgency(enum.IntEnum):
    """How soon the patient must act; a lower value is more urgent."""

    EMERGENCY = 1  # now: emergency services or the nearest emergency department
    SAME_DAY = 2  # today: their doctor or the clinic


@dataclass(frozen=True)
class RedFlag:
    """One red-flag question's meaning: ``field`` (a ``PainCheckIn`` flag), its ``urgency``,
    ``told`` (what the patient said, as the guidance repeats it back) and ``why`` (what it
    can mean, in a patient's words)."""

    field: str
    urgency: Urgency
    told: str
    why: str

    @property
    def name(self) -> str:
        """The flag in a few words, as the therapist sees it ("new weakness in a leg")."""
        return str(PainCheckIn._meta.get_field(self.field).verbose_name)  # type: ignore[union-attr]


#: The red flags in order of urgency: cauda equina first (an emergency), then the
#: same-day ones, leg weakness (a nerve that can be lost), fever, weight loss.
RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "flag_bladder_bowel",
        Urgency.EMERGENCY,
        "You have lost control of your bladder or bowels.",
        "With back pain, this can be a sign of cauda equina syndrome: the nerves at the bottom "
        "of the spine are being squeezed. It needs treatment in hospital within hours to prevent "
        "lasting damage.",
    ),
    RedFlag(
        "flag_leg_weakness",
        Urgency.SAME_DAY,
        "You have new weakness in a leg.",
        "A nerve in your back may be under pressure. A doctor needs to examine your leg today.",
    ),
    RedFlag(
        "flag_fever",
        Urgency.SAME_DAY,
        "You have a fever.",
        "With back pain, a fever can be a sign of an infection, which needs checking today.",
    ),
    RedFlag(
        "flag_weight_loss",
        Urgency.SAME_DAY,
        "You have lost weight without trying.",
        "With back pain, a doctor needs to find out why.",
    ),
)

#: The one instruction for each urgency.
ACTIONS: dict[Urgency, str] = {
    Urgency.EMERGENCY: (
        "Call emergency services now, or go to the nearest emergency department. "
        "Do not wait to see if it gets better."
    ),
    Urgency.SAME_DAY: (
        "Contact your doctor or the clinic today and tell them what you told us. "
        "If you cannot reach either of them today, go to an urgent care centre."
    ),
}

#: The heading of the guidance: the instruction in a few words.
HEADINGS: dict[Urgency, str] = {
    Urgency.EMERGENCY: "Call emergency services now",
    Urgency.SAME_DAY: "Contact your doctor or the clinic today",
}


@dataclass(frozen=True)
class Guidance:
    """The guidance for one check-in: ``urgency`` (of its most urgent flag), the one
    ``heading`` and ``action`` of that urgency, and ``flags``, every flag answered yes,
    most urgent first."""

    urgency: Urgency
    heading: str
    action: str
    flags: tuple[RedFlag, ...]

    @property
    def is_emergency(self) -> bool:
        return self.urgency is Urgency.EMERGENCY

    @property
    def main(self) -> tuple[RedFlag, ...]:
        """The flags the action is for: those of the most urgent level."""
        return tuple(flag for flag in self.flags if flag.urgency is self.urgency)

    @property
    def also(self) -> tuple[RedFlag, ...]:
        """The less urgent flags, for the patient to mention where they go; no action of their own."""
        return tuple(flag for flag in self.flags if flag.urgency is not self.urgency)


def red_flag_guidance(checkin: PainCheckIn) -> Guidance | None:
    """The guidance after ``checkin``: None without a red flag, else a ``Guidance`` whose
    urgency, heading and action are those of its most urgent flag and whose flags are
    every flag answered yes, in the order of ``RED_FLAGS``."""
    flags = tuple(flag for flag in RED_FLAGS if getattr(checkin, flag.field))
    if not flags:
        return None
    urgency = min(flag.urgency for flag in flags)
    return Guidance(urgency=urgency, heading=HEADINGS[urgency], action=ACTIONS[urgency], flags=flags)
