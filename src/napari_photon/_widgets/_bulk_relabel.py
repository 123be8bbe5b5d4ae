"""Bulk relabel: give every ROI on one side of a metric threshold a label, with a preview
of how many would change; and "accept suggestions above p"."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["BulkRelabel"]

_LABELS = ("not cell", "cell", "unsure")


class BulkRelabel(QWidget):
    """Metric, below/above, threshold, label; the count of ROIs that would change.

    ``counter(metric, threshold, above, label)`` gives that count (set by the dock);
    ``applied(metric, threshold, above, label)`` is emitted by Apply.
    """

    applied = Signal(str, float, bool, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counter: Callable[[str, float, bool, str], int] | None = None
        self.metric = QComboBox()
        self.metric.setToolTip("The metric compared with the threshold")
        self.side = QComboBox()
        self.side.addItems(["below", "above"])
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(-1e9, 1e9)
        self.threshold.setDecimals(3)
        self.label = QComboBox()
        self.label.addItems(_LABELS)
        self.preview = QLabel()
        self.apply_button = QPushButton("Relabel")
        self.apply_button.setToolTip("Relabel every ROI on that side of the threshold")
        self.apply_button.clicked.connect(self._apply)
        first = QHBoxLayout()
        first.addWidget(QLabel("ROIs with"))
        first.addWidget(self.metric, 1)
        first.addWidget(self.side)
        first.addWidget(self.threshold)
        second = QHBoxLayout()
        second.addWidget(QLabel("become"))
        second.addWidget(self.label, 1)
        second.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.preview)
        for box in (self.metric, self.side, self.label):
            box.currentIndexChanged.connect(self.update_preview)
        self.threshold.valueChanged.connect(self.update_preview)

    def set_metrics(self, names: list[str]) -> None:
        """The metrics to choose from (the table's numeric columns)."""
        if names == [self.metric.itemText(i) for i in range(self.metric.count())]:
            self.update_preview()
            return
        current = self.metric.currentText()
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.addItems(names)
        if current in names:
            self.metric.setCurrentIndex(names.index(current))
        self.metric.blockSignals(False)
        self.update_preview()

    def choice(self) -> tuple[str, float, bool, str]:
        return (
            self.metric.currentText(),
            float(self.threshold.value()),
            self.side.currentText() == "above",
            self.label.currentText(),
        )

    def update_preview(self, *_args: object) -> None:
        metric = self.metric.currentText()
        if not metric or self.counter is None:
            self.preview.setText("")
            self.apply_button.setEnabled(False)
            return
        n = self.counter(*self.choice())
        _, threshold, above, label = self.choice()
        side = ">" if above else "<"
        self.preview.setText(f"{n} ROI(s) with {metric} {side} {threshold:g} would become {label}")
        self.apply_button.setEnabled(n > 0)

    def _apply(self) -> None:
        if self.metric.currentText():
            self.applied.emit(*self.choice())
