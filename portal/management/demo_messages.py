"""The demo clinic's conversations (issue 19): a few days of messages between patients and their
care team, written through the services at their moments, with some unread and one needing a reply.

- Alex (the demo patient) asked about the bird dog, was answered and thanked Dana; Dana's latest
  advice waits unread, so Alex sees an unread count on signing in.
- Priya, whose pain is rising, wrote last night: unread by both therapists, it needs a reply.
- Sam asked whether the gym will do; Chris Patel, the colleague, answered; Sam's thanks needed
  no answer, so Chris closed "needs a reply"; all read.
- Tom wrote that he ran for the bus; Dana answered; Chris has not read it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Clinic, Patient, User
from conversations.services import conversation_for, conversation_read, conversation_reply_close, message_send

#: Per patient's email: (hours ago, who writes: "patient", "dana" or "chris", the text).
THREADS: dict[str, list[tuple[float, str, str]]] = {
    "patient@demo.plinth": [
        (
            121,
            "patient",
            "Hi Dana, the bird dog makes my lower back ache on the left after about 5 reps. "
            "Should I keep going or stop?",
        ),
        (
            98,
            "dana",
            "Thanks Alex. A mild ache that settles within an hour is fine. For this week lift the arm "
            "only, not the leg, and move slowly. If the ache spreads into your leg, stop and tell me.",
        ),
        (50, "patient", "Arm only is much better, no ache at all. Thank you!"),
        (2, "dana", "Great to hear. From Monday add the leg again: 3 slow reps each side to start."),
    ],
    "priya@demo.plinth": [
        (
            14,
            "patient",
            "My pain has been worse this week, especially first thing in the morning. "
            "Is there anything I should change before my next appointment?",
        ),
    ],
    "sam@demo.plinth": [
        (75, "patient", "Can I do my exercises at the gym instead of at home? The mats there are better."),
        (
            52,
            "chris",
            "Hi Sam, Chris here, covering for Dana. Yes: same sets and reps, and skip any machines "
            "until you have asked her.",
        ),
        (30, "patient", "Will do, thanks Chris."),
    ],
    "tom@demo.plinth": [
        (145, "patient", "Just to say: I ran for the bus today without any pain!"),
        (120, "dana", "Brilliant news, Tom. Keep the bridges going; we will talk about running at week 16."),
    ],
}

#: Who read each conversation, and when (hours ago): up to the last message before then.
READS: dict[str, list[tuple[float, str]]] = {
    "patient@demo.plinth": [(97, "patient"), (49, "dana")],
    "sam@demo.plinth": [(74, "dana"), (51, "patient"), (29, "chris"), (29, "dana")],
    "tom@demo.plinth": [(119, "patient")],
}


def demo_conversations(*, clinic: Clinic, dana: User, chris: User) -> int:
    """Write the demo's conversations for ``clinic``'s patients; returns the messages written."""
    now = timezone.now()
    written = 0
    for email, thread in THREADS.items():
        patient = Patient.objects.select_related("user", "clinic", "therapist__user").get(
            clinic=clinic, user__email=email
        )
        conversation = conversation_for(patient=patient)
        who = {"patient": patient.user, "dana": dana, "chris": chris}
        events: list[tuple[datetime, str, str, str]] = [
            (now - timedelta(hours=hours), "send", author, text) for hours, author, text in thread
        ]
        reads = READS.get(email, [])
        events += [(now - timedelta(hours=hours), "read", reader, "") for hours, reader in reads]
        for at, kind, person, text in sorted(events, key=lambda event: event[0]):
            if kind == "send":
                message_send(conversation=conversation, sender=who[person], body=text, now=at, notify=False)
                written += 1
            else:
                conversation_read(conversation=conversation, user=who[person], via="page", now=at)
        if email == "sam@demo.plinth":
            conversation_reply_close(conversation=conversation, by=chris)
    return written
