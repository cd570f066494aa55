"""The audit trail in words: what each action code means, and the values an entry changed.

Every entry keeps its action as a code ("checkin.corrected") and its details as JSON; the
audit page shows them to a clinic in words. ``ACTION_WORDS`` is the one mapping from code to
words (a code missing from it is shown as it is, never hidden); ``entry_changes`` reads the
values before and after from the shapes the services write: ``{"before": {...}, "after":
{...}}`` (a correction, reminder settings), ``{"before": {...}}`` alone (a plan's details, an
exercise's dosage), ``{"replaced": {...}, "new": {...}}`` (a check-in sent again the same
day) and ``{"from": x, "to": y}`` (a status, a therapist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Each action code the product writes, in words for the clinic's audit page.
ACTION_WORDS: dict[str, str] = {
    "alert.acknowledged": "Acknowledged an alert",
    "alert.cleared": "Alert cleared (the condition stopped)",
    "alert.opened": "Alert opened",
    "api_token.created": "Made an API token",
    "api_token.revoked": "Revoked an API token",
    "auth.idle_logout": "Logged out after being idle",
    "auth.logged_out_everywhere": "Logged out on every device (and ended emailed sign-in links)",
    "auth.sign_in_link_sent": "Emailed a sign-in link",
    "auth.signed_in_by_link": "Signed in with an emailed link",
    "careplan.activated": "Activated a care plan",
    "careplan.completed": "Completed a care plan",
    "careplan.created": "Created a care plan",
    "careplan.details_changed": "Changed a care plan's details",
    "careplan.exercise_added": "Added an exercise to a care plan",
    "careplan.exercise_changed": "Changed an exercise's dosage in a care plan",
    "careplan.exercise_moved": "Moved an exercise in a care plan",
    "careplan.exercise_progressed": "Progressed an exercise to its harder variant in a care plan",
    "careplan.exercise_regressed": "Regressed an exercise to an easier variant in a care plan",
    "careplan.exercise_removed": "Removed an exercise from a care plan",
    "careplan.imported": "Imported a care plan",
    "careplan.phase_advanced": "Advanced a care plan to its next phase by hand",
    "careplan.phase_began": "A care plan's next phase began on its schedule",
    "careplan.phase_held": "Held a care plan in its current phase",
    "careplan.phase_released": "Released the hold on a care plan's phase",
    "careplan.rehomed": "Moved a care plan to another therapist",
    "careplan.stopped": "Stopped a care plan",
    "careplan.version_created": "Saved a new version of a care plan",
    "checkin.corrected": "Corrected a check-in",
    "conversation.read": "Read the messages",
    "conversation.reply_closed": "Marked the messages as not needing a reply",
    "message.sent": "Sent a message",
    "patient.message_emails_changed": "Changed message emails",
    "fhir.export_requested": "Started a FHIR bulk export of the clinic's patients",
    "fhir.export_downloaded": "Downloaded a file of a FHIR bulk export",
    "fhir.export_deleted": "Deleted a FHIR bulk export",
    "questionnaire_response.drafted": "Saved a questionnaire to finish later",
    "questionnaire_response.completed": "Sent a questionnaire",
    "checkin.created": "Sent a check-in",
    "checkin.replaced": "Sent a check-in again the same day (replaced)",
    "exercise.archived": "Archived a library exercise",
    "exercise.copied": "Copied a shared exercise to the clinic's own",
    "exercise.created": "Wrote an exercise of the clinic's own",
    "exercise.updated": "Changed an exercise of the clinic's own",
    "exercise.discarded": "Discarded a draft exercise of the clinic's own",
    "exercise.media_added": "Added a picture or video to an exercise",
    "exercise.media_moved": "Reordered an exercise's pictures",
    "exercise.media_removed": "Removed a picture or video from an exercise",
    "exercise.draft": "Made a library exercise a draft",
    "exercise.published": "Published a library exercise",
    "exercise_session.done": "Marked an exercise done",
    "exercise_session.undone": "Unmarked an exercise",
    "history.imported": "Imported check-in history",
    "instrument.loaded": "Loaded a questionnaire definition",
    "invitation.accepted": "Accepted the invitation (with a password or, where the clinic allows, without)",
    "invitation.resent": "Sent a new invitation link",
    "invitations.purged": "Deleted expired invitation links",
    "outcomes.exported": "Exported the outcome figures",
    "patient.exported": "Downloaded the patient's data",
    "patient.imported": "Imported a patient",
    "patient.invited": "Added and invited a patient",
    "patient.moved": "Moved a patient to another clinic",
    "patient.phone_changed": "Changed the patient's phone number",
    "patient.reminder_settings_changed": "Changed reminder settings",
    "patient.reminders_opted_out": "Turned reminders off from the email",
    "patient.therapist_changed": "Changed the patient's therapist",
    "plantemplate.created": "Saved a plan as a template",
    "therapist.imported": "Imported a therapist",
    "user.deactivated": "Deactivated an account",
    "user.password_changed": "Changed the password",
    # Reads: "<model>.viewed", one per record shown (audit.services.audit_reads_write).
    "alert.viewed": "Viewed an alert",
    "apitoken.viewed": "Viewed an API token",
    "auditevent.viewed": "Viewed audit entries",
    "careplan.viewed": "Viewed a care plan",
    "conversation.viewed": "Viewed the messages",
    "message.viewed": "Viewed a message",
    "exercisesession.viewed": "Viewed exercises marked done",
    "invitation.viewed": "Viewed an invitation",
    "outcomesnapshot.viewed": "Viewed outcome figures",
    "paincheckin.viewed": "Viewed a check-in",
    "instrumentresponse.viewed": "Viewed a questionnaire's answers",
    "patient.viewed": "Viewed the patient's record",
    "planexercise.viewed": "Viewed a care plan's exercise",
    "planversion.viewed": "Viewed a care plan's version",
    "reminderdelivery.viewed": "Viewed a reminder sent",
    "user.viewed": "Viewed the patient's account",
}


def action_words(code: str) -> str:
    """``code`` (an audit action, "checkin.corrected") in words; an unknown code as it is."""
    return ACTION_WORDS.get(code, code)


#: Field names that read badly as they are; any other name is shown with spaces for underscores.
FIELD_WORDS: dict[str, str] = {
    "nprs": "pain (NPRS 0-10)",
    "flag_leg_weakness": "new leg weakness",
    "flag_bladder_bowel": "loss of bowel or bladder control",
    "flag_fever": "fever",
    "flag_weight_loss": "unexplained weight loss",
    "timezone": "time zone",
    "reminders_enabled": "reminders on",
    "length_weeks": "length (weeks)",
    "days_per_week": "days a week",
    "sessions_per_day": "times a day",
    "hold_seconds": "hold (seconds)",
}


#: Stamps that change with every save: not a change anyone made.
_NOT_CHANGES = frozenset({"received_at"})


@dataclass(frozen=True)
class Change:
    """One value an entry changed: ``before`` or ``after`` is "" where the entry does not say."""

    field: str
    before: str
    after: str


def _words(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_words(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{FIELD_WORDS.get(k, k.replace('_', ' '))}: {_words(v)}" for k, v in value.items())
    return str(value)


#: What an entry's data says in words of its own, shown beside its changes: the note of an
#: acknowledged alert, the reason a plan ended.
NOTE_KEYS: dict[str, str] = {"note": "note", "reason": "reason"}


def entry_notes(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The (label, text) of the ``NOTE_KEYS`` an entry's ``data`` has, non-empty; [] when none."""
    if not isinstance(data, dict):
        return []
    return [(label, str(data[key])) for key, label in NOTE_KEYS.items() if data.get(key)]


def entry_changes(data: dict[str, Any] | None) -> list[Change]:
    """The values an audit entry's ``data`` changed, in the order written: [] when it names none.

    Only fields whose value differs are listed when both sides are known; a side the
    entry does not keep is "". Values are in words (yes/no, "(none)" for empty).
    """
    if not isinstance(data, dict):
        return []
    before = data.get("before", data.get("replaced"))
    after = data.get("after", data.get("new"))
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        names = [*old, *(name for name in new if name not in old)]
        changes = []
        for name in names:
            if name in _NOT_CHANGES or (name in old and name in new and old[name] == new[name]):
                continue
            changes.append(
                Change(
                    FIELD_WORDS.get(name, name.replace("_", " ")),
                    _words(old[name]) if name in old else "",
                    _words(new[name]) if name in new else "",
                )
            )
        return changes
    if "from" in data and "to" in data:
        return [Change("", _words(data["from"]), _words(data["to"]))]
    return []
