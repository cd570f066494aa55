"""Limits read from the model fields, so forms and API serializers never restate them.

A model field is the one definition of what a value may be (STYLE.md, convention 3):
its ``max_length``, the bounds of its Min/MaxValueValidators and its choices. These
helpers read them through ``Model._meta.get_field`` (public API) for the forms and
serializers that cannot be generated from the model.
"""

from __future__ import annotations

import unicodedata

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def _field(model: type[models.Model], name: str) -> models.Field[object, object]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a relation, not a field with limits")
    return field


def max_length_of(model: type[models.Model], name: str) -> int:
    """The ``max_length`` of ``model.name`` (characters); ``LookupError`` if it declares none."""
    length = _field(model, name).max_length
    if length is None:
        raise LookupError(f"{model.__name__}.{name} has no max_length")
    return int(length)


def range_of(model: type[models.Model], name: str) -> tuple[int, int]:
    """(lowest, highest) allowed for the integer field ``model.name``, from its validators.

    Raises ``LookupError`` unless the field has both a MinValueValidator and a MaxValueValidator.
    """
    low: int | None = None
    high: int | None = None
    for validator in _field(model, name).validators:
        if isinstance(validator, MinValueValidator):
            low = int(validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = int(validator.limit_value)
    if low is None or high is None:
        raise LookupError(f"{model.__name__}.{name} has no min and max validators")
    return low, high


def shows_text(text: str) -> bool:
    """Whether ``text`` has a character that shows: a letter, digit, punctuation mark or symbol
    (Unicode general categories L, N, P, S). False for "" and for text of only spaces,
    line breaks, zero-width or other format characters, which a required field must refuse
    like an empty one: on the page it would be a blank name, title or reason."""
    return any(unicodedata.category(char)[0] in "LNPS" for char in text)
