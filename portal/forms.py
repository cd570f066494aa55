"""Every form field Plinth renders: after a failed submit, the first error has the focus.

``FORM_RENDERER`` names ``PlinthFormRenderer``, so every form (pages, HTMX fragments, the
admin) binds its fields with ``PlinthBoundField``. A field with errors already gets
``aria-invalid`` and ``aria-describedby="<id>_helptext <id>_error"`` from Django; the
templates (portal/_field.html) give those ids to the help text and the error. This adds
``autofocus`` to the first field, in the form's order, that has an error: the browser
focuses it when a page loads, and HTMX focuses it when it swaps a fragment in. A form
with errors that belong to no field puts its focus on the error summary instead
(portal/_form_errors.html), so it does not mark a field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import BoundField, Widget
from django.forms.renderers import DjangoTemplates


class PlinthBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Widget | None = None) -> dict[str, Any]:
        """Django's attributes, plus ``autofocus`` on the form's first field with an error."""
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors and self.name == first_error_field(self.form):
            attrs["autofocus"] = True
        return attrs


def first_error_field(form: Any) -> str | None:
    """The name of the first visible field, in the form's order, with an error; None if none.

    None too when the form has an error of its own (not a field's): that one is shown first.
    Reads ``form.errors``, which validates an unvalidated bound form; an unbound form has none.
    """
    errors = form.errors
    if not errors or NON_FIELD_ERRORS in errors:
        return None
    for name, field in form.fields.items():
        if name in errors and not field.widget.is_hidden:
            return str(name)
    return None


class PlinthFormRenderer(DjangoTemplates):
    """Django's template renderer, binding fields with ``PlinthBoundField``."""

    bound_field_class = PlinthBoundField
