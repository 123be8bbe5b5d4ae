"""The Suggest tab of the curation dock: learn from committed curations, accept above p."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["SuggestPanel"]


class SuggestPanel(QWidget):
    """``suggestRequested()`` from Suggest; ``acceptRequested(p)`` from "Accept suggestions
    above p" (label every ROI with a probability above p a cell)."""

    suggestRequested = Signal()
    acceptRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.suggest_button = QPushButton("Suggest")
        self.suggest_button.setToolTip(
            "Train a classifier on this pipeline's committed curations (their labels, ROI "
            "metrics and trace features) and show each ROI's probability of being a cell"
        )
        self.suggest_button.clicked.connect(self.suggestRequested)
        self.p = QDoubleSpinBox()
        self.p.setRange(0.0, 1.0)
        self.p.setSingleStep(0.05)
        self.p.setDecimals(2)
        self.p.setValue(0.7)
        self.accept_button = QPushButton("Accept suggestions above p")
        self.accept_button.setToolTip("Label every ROI above p a cell (one action: Ctrl+Z undoes it)")
        self.accept_button.clicked.connect(lambda: self.acceptRequested.emit(self.p.value()))
        self.accept_button.setEnabled(False)
        self.status = QLabel("No suggestions yet.")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("p"))
        row.addWidget(self.p)
        row.addWidget(self.accept_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.suggest_button)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def show_trained_on(self, trained_on: list[dict], counts: dict[str, int]) -> None:
        """Say what the suggestions were learnt from."""
        names = ", ".join(
            f"{k.get('mouse_id')}/{k.get('session_date')}/{k.get('recording_num')} "
            f"#{k.get('curation_id')}" for k in trained_on[:6]
        )
        more = f" and {len(trained_on) - 6} more" if len(trained_on) > 6 else ""
        self.status.setText(
            f"Learnt from {len(trained_on)} curation(s) ({counts.get('cell', 0)} cells, "
            f"{counts.get('not cell', 0)} not cells): {names}{more}."
        )
        self.accept_button.setEnabled(True)
