"""The Process dock's parameters: a stored set to start from, and a form to edit it."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from .. import browse
from ._params_form import ParamsForm


class ParameterChooser(QWidget):
    """A stored parameter set (:attr:`box`, which the dock puts among its choices) shown
    in an editable form; edited values become a new set when the step runs.

    Attributes
    ----------
    box : QComboBox
        The stored parameter sets of the step's parameter table.
    form : ParamsForm
        The chosen set's values (the algorithm's defaults shown empty).
    edited_label : QLabel
        Says when the form's values differ from the chosen set (or why they are invalid).
    parameter_sets : list of ParameterSet
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parameter_sets: list[browse.ParameterSet] = []
        self._fields: list[browse.ParameterField] = []
        self._methods: list[str] = []
        self.box = QComboBox()
        self.box.setToolTip("Stored parameter sets; edit values below to make a new one")
        self.box.currentIndexChanged.connect(self._show)
        self.form = ParamsForm()
        self.form.changed.connect(self._edited)
        self.edited_label = QLabel()
        self.edited_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form.root_native_widget, 1)
        layout.addWidget(self.edited_label)

    def clear(self) -> None:
        """No sets to choose from (while a recording's choices load)."""
        self.parameter_sets = []
        self.box.clear()
        self.form.set_fields([], {})

    def set_choices(
        self,
        parameter_sets: list[browse.ParameterSet],
        fields: list[browse.ParameterField],
        methods: list[str],
    ) -> None:
        """Offer ``parameter_sets``; the form edits ``fields`` (and a ``methods`` choice)."""
        self.parameter_sets, self._fields, self._methods = parameter_sets, fields, methods
        self.box.blockSignals(True)
        for parameter_set in parameter_sets:
            self.box.addItem(parameter_set.label)
        self.box.blockSignals(False)
        self._show()

    def base(self) -> browse.ParameterSet | None:
        """The stored set chosen in :attr:`box`."""
        index = self.box.currentIndex()
        return self.parameter_sets[index] if 0 <= index < len(self.parameter_sets) else None

    def is_edited(self, base: browse.ParameterSet) -> bool:
        """Whether the form differs from ``base`` (raises ValueError for invalid values)."""
        method = self.form.method()
        changed_method = method is not None and method != base.row.get("method")
        return changed_method or self.form.params() != base.params

    def _show(self, _index: int = 0) -> None:
        base = self.base()
        if base is None:
            self.form.set_fields([], {})
        else:
            self.form.set_fields(
                self._fields, dict(base.params), base.row.get("method"), self._methods
            )
        self._edited()

    def _edited(self, _value: Any = None) -> None:
        base = self.base()
        try:
            edited = base is not None and self.is_edited(base)
        except ValueError as err:
            self.edited_label.setText(str(err))
            return
        self.edited_label.setText(
            "Edited: running adds these values as a new parameter set." if edited else ""
        )
