"""Model instances from a hand-written SELECT, converted exactly as the ORM converts them.

For the few hot paths where compiling a queryset costs more than running it
(an API token lookup on every request): the SQL is written once, its column
lists come from the models' own metadata, and each value passes through the
same backend and field converters the ORM's compiler applies, so a row read
here equals the instance ``Model.objects.get`` would return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


class ModelColumns(Generic[M]):
    """The concrete columns of ``model`` under a table alias, and how to turn them back into an instance."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)
        self._converters: dict[str, list[tuple[int, list[tuple[Converter, Any]]]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def select(self) -> str:
        """``alias."col", ...`` for a SELECT list (names come from the model, never from input)."""
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    def _converters_for(self, using: str) -> list[tuple[int, list[tuple[Converter, Any]]]]:
        """For each column that has converters (most have none), its index and its converters."""
        found = self._converters.get(using)
        if found is None:
            connection = connections[using]
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                chain = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
                if chain:
                    found.append((index, [(converter, column) for converter in chain]))
            self._converters[using] = found
        return found

    def build(self, values: Sequence[Any], using: str = "default") -> M | None:
        """The instance these values describe, or None when the row had none (an outer join's NULLs)."""
        if values[self.pk_index] is None:  # an outer join found no row
            return None
        connection = connections[using]
        converted = list(values)
        for index, chain in self._converters_for(using):
            for converter, column in chain:
                converted[index] = converter(converted[index], column, connection)
        return self.model.from_db(using, self.attnames, converted)
