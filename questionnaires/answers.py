"""A definition's questions as a form shows them, and the rules an answer set must follow.

``form_items`` reads the definition's items in order (groups flattened): instructions
(``display``), free text (``string``/``text``: the PSFS's activities), numbers in a range
(``integer``) and choices. ``answer_problems`` is the one statement of what a draft or a sent
response may hold; the services raise its first problem, the page shows them all beside their
items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portal.errors import DomainError
from questionnaires.definitions import ACTIVITY_URL, MAX_URL, MIN_URL, ORDINAL_URL
from questionnaires.models import Instrument
from questionnaires.scoring import psfs_visit_ratings

#: The longest free-text answer (a PSFS activity's name) kept.
TEXT_MAX = 200

Answer = int | str | None


@dataclass(frozen=True)
class FormItem:
    """One question: ``kind`` display, text, integer or choice; ``options`` the (value, words) a
    choice or an integer offers, in order; ``activity`` the text item a rating rates."""

    link_id: str
    kind: str
    text: str
    required: bool
    options: tuple[tuple[int, str], ...] = ()
    activity: str | None = None

    @property
    def scored(self) -> bool:
        return self.kind in ("integer", "choice")

    def asked(self, name: str = "") -> str:
        """The question as the patient reads it. A rating of an activity (the PSFS) names the
        activity: "How well can you do: climbing stairs?" for ``name`` (the activity as the
        patient typed it, or as named at an earlier occasion), "How well can you do this
        activity?" before it has a name, either followed by the definition's anchors
        ("(0 = unable ..., 10 = able ...)"); the definition's "activity 1" is its slot, not the
        patient's words. Any other item: its text."""
        if self.activity is None:
            return self.text
        anchors = self.text[self.text.rfind(" (") :] if self.text.endswith(")") and " (" in self.text else ""
        name = name.strip()
        asked = f"How well can you do: {name}?" if name else "How well can you do this activity?"
        return asked + anchors


def _extension(node: Mapping[str, Any], url: str) -> Mapping[str, Any] | None:
    return next((ext for ext in node.get("extension", []) if ext.get("url") == url), None)


def _walk(nodes: list[Mapping[str, Any]], out: list[FormItem]) -> None:
    for node in nodes:
        kind = node["type"]
        if kind == "group":
            _walk(node.get("item", []), out)
            continue
        options: tuple[tuple[int, str], ...] = ()
        activity = None
        if kind == "integer":
            low = int(_extension(node, MIN_URL)["valueInteger"])  # type: ignore[index]
            high = int(_extension(node, MAX_URL)["valueInteger"])  # type: ignore[index]
            options = tuple((value, str(value)) for value in range(low, high + 1))
            found = _extension(node, ACTIVITY_URL)
            activity = str(found["valueString"]) if found else None
        elif kind == "choice":
            options = tuple(
                (
                    int(_extension(option, ORDINAL_URL)["valueDecimal"]),  # type: ignore[index]
                    str(option["valueCoding"].get("display") or option["valueCoding"]["code"]),
                )
                for option in node["answerOption"]
            )
        out.append(
            FormItem(
                link_id=node["linkId"],
                kind="text" if kind in ("string", "text") else kind,
                text=str(node.get("text", "")),
                required=bool(node.get("required", False)),
                options=options,
                activity=activity,
            )
        )


def form_items(instrument: Instrument) -> list[FormItem]:
    """The instrument's questions in the definition's order (a checked definition: every scored
    item has its range or ordinal values)."""
    items: list[FormItem] = []
    _walk(instrument.definition.get("item", []), items)
    return items


def answer_problems(
    instrument: Instrument, answers: Mapping[str, Answer], *, complete: bool, named: Sequence[str] = ()
) -> list[DomainError]:
    """Every problem in ``answers`` (linkId to a whole number for a scored item, text for a text
    item, None or absent when unanswered), each a ``DomainError`` whose ``field`` is the linkId:
    ``unknown_item``, ``not_a_number``, ``answer_out_of_range``, ``too_long``, and, when
    ``complete`` (sent, not a draft), ``required`` for a required item left out; for a rating of
    an activity (the PSFS), ``activity_unnamed`` for a rating whose activity has no name and, when
    ``complete``, ``activity_unrated`` for a named activity left without a rating (field the
    rating's linkId, so the page shows it beside that activity; a draft may hold a name not yet
    rated; an activity in ``named``, the names given at an earlier occasion, which the page shows
    to rate again and offers no way to remove, is asked for its rating alone),
    ``activity_renamed`` (field the activity's linkId) when the n-th activity slot does not hold
    exactly the n-th name of ``named`` (``selectors.earlier_activities``, compacted, in slot order;
    compared after stripping; a draft may leave it empty for now): the PSFS compares each
    activity's ratings across occasions (Stratford 1995), so a later occasion may only rate the
    earlier activities again and name new ones in the free slots after them; and
    ``activity_repeated``
    (``scoring.psfs_visit_ratings``). Empty when the answers may be saved."""
    items = {item.link_id: item for item in form_items(instrument)}
    problems: list[DomainError] = []
    for link_id in answers:
        if link_id not in items or items[link_id].kind == "display":
            problems.append(
                DomainError(
                    "This is not a question of this questionnaire.", field=link_id, code="unknown_item"
                )
            )
    for item in items.values():
        value = answers.get(item.link_id)
        if item.kind == "display":
            continue
        if value is None or value == "":
            # A named activity's missing rating is refused by _activity_problems, in its words.
            if complete and item.required and not (item.activity and answers.get(item.activity)):
                problems.append(DomainError("Answer this question.", field=item.link_id, code="required"))
            continue
        if item.kind == "text":
            if not isinstance(value, str):
                problems.append(DomainError("Write this in words.", field=item.link_id, code="invalid"))
            elif len(value) > TEXT_MAX:
                problems.append(
                    DomainError(f"Keep this to {TEXT_MAX} characters.", field=item.link_id, code="too_long")
                )
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                DomainError("Choose one of the numbers.", field=item.link_id, code="not_a_number")
            )
        elif value not in {number for number, _ in item.options}:
            low, high = item.options[0][0], item.options[-1][0]
            words = f"from {low} to {high}" if item.kind == "integer" else "from the list"
            problems.append(
                DomainError(f"Choose an answer {words}.", field=item.link_id, code="answer_out_of_range")
            )
    problems += _activity_problems(items, answers, complete=complete, named=named)
    if not problems and any(item.activity for item in items.values()):
        try:
            psfs_visit_ratings(
                instrument,
                texts={k: v for k, v in answers.items() if isinstance(v, str)},
                answers=scored_answers(instrument, answers),
            )
        except DomainError as error:
            problems.append(error)
    return problems


def _activity_problems(
    items: Mapping[str, FormItem], answers: Mapping[str, Answer], *, complete: bool, named: Sequence[str]
) -> list[DomainError]:
    """A PSFS activity is a pair, its name and its rating: one without the other is refused.
    Stratford 1995 scores each activity the patient names by its rating, so a name sent unrated
    would silently drop out of the mean."""
    problems: list[DomainError] = []
    slot = 0
    for item in items.values():
        if item.activity is None or item.activity not in items:
            continue
        name = answers.get(item.activity)
        name = name.strip() if isinstance(name, str) else ""
        earlier = named[slot] if slot < len(named) else ""
        slot += 1
        if earlier and name != earlier.strip() and (name or complete):
            problems.append(
                DomainError(
                    f"You named this activity '{earlier}' at your first questionnaire; "
                    "it cannot be renamed here.",
                    field=item.activity,
                    code="activity_renamed",
                )
            )
            continue
        rating = answers.get(item.link_id)
        low, high = item.options[0][0], item.options[-1][0]
        if name and rating is None and complete:
            problems.append(
                DomainError(
                    f"Rate '{name}' from {low} to {high} for today: you named it at your first questionnaire."
                    if name in named
                    else f"Rate '{name}' from {low} to {high}, or remove the activity.",
                    field=item.link_id,
                    code="activity_unrated",
                )
            )
        elif not name and isinstance(rating, int):
            problems.append(
                DomainError(
                    f"Name the activity you rated {rating}, or clear its rating.",
                    field=item.link_id,
                    code="activity_unnamed",
                )
            )
    return problems


def scored_answers(instrument: Instrument, answers: Mapping[str, Answer]) -> dict[str, int | None]:
    """The scored items' answers (``instrument_score``'s input): every whole-number answer of an
    integer or choice item, the rest left out."""
    scored = {item.link_id for item in form_items(instrument) if item.scored}
    return {
        k: v for k, v in answers.items() if k in scored and isinstance(v, int) and not isinstance(v, bool)
    }


@dataclass(frozen=True)
class AnsweredItem:
    """One question of a response as a person reads it: its linkId, its text, the answer as stored
    (a whole number, text, or None when skipped) and in words (a choice's display, a number as
    written, the text itself; "" when skipped)."""

    link_id: str
    question: str
    answer: Answer
    words: str


def answered_items(instrument: Instrument, answers: Mapping[str, Answer]) -> list[AnsweredItem]:
    """Every question of ``instrument`` (instructions left out) in the definition's order with its
    answer in ``answers`` (a response's, linkId to the answer); a rating of an activity asks about
    the activity by the name in ``answers`` (``FormItem.asked``)."""
    rows = []
    for item in form_items(instrument):
        if item.kind == "display":
            continue
        value = answers.get(item.link_id)
        words = "" if value is None else str(value)
        if item.kind == "choice":
            words = next((text for number, text in item.options if number == value), words)
        name = answers.get(item.activity) if item.activity else None
        question = item.asked(name if isinstance(name, str) else "")
        rows.append(AnsweredItem(item.link_id, question, value, words))
    return rows
