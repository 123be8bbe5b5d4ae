"""A magicgui form for a step's parameters: its function's keyword arguments.

The fields come from :meth:`napari_photon.browse.ProcessStep.fields` (the algorithm's
signature), their values from a stored parameter set (which may hold only the arguments it
changes). Reading the form back gives the parameter set that reproduces it: the arguments
the base set held, plus those now different from the function's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit, SpinBox, Widget

from ..browse import ParameterField

__all__ = ["ParamsForm"]

_INT_RANGE = (-(2**31), 2**31 - 1)
_AUTO = "automatic"


def _editor(field: ParameterField, value: Any) -> Widget:
    """A widget for one parameter, by its kind; automatic (None) defaults edit as text."""
    tip = f"default: {_AUTO if field.default is None else field.default}"
    if field.default is None:
        text = "" if value is None else str(value)
        widget = LineEdit(name=field.name, value=text, tooltip=tip + " (leave empty)")
        widget.native.setPlaceholderText(_AUTO)
        return widget
    if field.kind is bool:
        return CheckBox(name=field.name, value=bool(value), tooltip=tip)
    if field.kind is int:
        return SpinBox(
            name=field.name, value=int(value), min=_INT_RANGE[0], max=_INT_RANGE[1], tooltip=tip
        )
    return LineEdit(name=field.name, value=str(value), tooltip=tip)  # floats keep every digit


def _parse(field: ParameterField, raw: Any) -> Any:
    if isinstance(raw, bool) or field.kind is bool:
        return bool(raw)
    text = str(raw).strip()
    if field.default is None and text == "":
        return None
    try:
        if field.kind is int:
            return int(text)
        if field.kind is float:
            return float(text)
    except ValueError:
        raise ValueError(f"{field.name} takes a number, not {text!r}") from None
    return text


class ParamsForm(Container):
    """Edits a method and the keyword arguments of a step's function.

    Use :meth:`set_fields` to show a parameter set; :meth:`method` and :meth:`params` read
    the edited values (``params`` raises ValueError for a value that does not parse).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(labels=True, scrollable=True, **kwargs)
        self.root_native_widget.setMinimumHeight(160)
        self.native.layout().addStretch(1)  # rows stay together at the top
        self._fields: dict[str, ParameterField] = {}
        self._base: dict = {}
        self._extra: dict = {}

    def set_fields(
        self,
        fields: Sequence[ParameterField],
        values: dict,
        method: str | None = None,
        methods: Sequence[str] = (),
    ) -> None:
        """Show ``fields`` with ``values`` (a parameter set's params; others at default)."""
        self.clear()
        self._fields = {f.name: f for f in fields}
        self._base = dict(values)
        # keys the function does not list (older sets): kept as they are
        self._extra = {k: v for k, v in values.items() if k not in self._fields}
        if methods:
            self.append(ComboBox(name="method", choices=list(methods), value=method or methods[0]))
        for field in fields:
            self.append(_editor(field, values.get(field.name, field.default)))

    def method(self) -> str | None:
        """The chosen method (None when the parameter table has no method column)."""
        return self.method_widget.value if self.method_widget is not None else None

    @property
    def method_widget(self) -> ComboBox | None:
        for widget in self:
            if widget.name == "method" and isinstance(widget, ComboBox):
                return widget
        return None

    def params(self) -> dict:
        """The parameter set the form shows: base keys, plus values off their default."""
        params = dict(self._extra)
        for widget in self:
            field = self._fields.get(widget.name)
            if field is None:
                continue
            value = _parse(field, widget.value)
            keep = widget.name in self._base or value != field.default
            if keep and value is not None:
                params[widget.name] = value
        return params

    def describe(self) -> str:
        """The parameters as JSON (for tooltips and messages)."""
        return json.dumps(self.params(), sort_keys=True)
