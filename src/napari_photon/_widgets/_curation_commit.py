"""Curator, note and the Commit button of the curation dock."""

from __future__ import annotations

import getpass

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFormLayout, QLineEdit, QPushButton, QWidget

__all__ = ["CommitPanel"]


class CommitPanel(QWidget):
    """``commitRequested(curator, note)`` when Commit is clicked with a curator named."""

    commitRequested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curator = QLineEdit()
        try:
            self.curator.setText(getpass.getuser())
        except (KeyError, OSError):
            pass
        self.curator.setPlaceholderText("who curated (required)")
        self.note = QLineEdit()
        self.note.setPlaceholderText("what this version is (optional)")
        self.commit_button = QPushButton("Commit")
        self.commit_button.setToolTip(
            "Store this curation as a new version (Curation + Curation.Mask), then compute "
            "its traces (CuratedTrace)"
        )
        self.commit_button.clicked.connect(self._clicked)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Curator", self.curator)
        layout.addRow("Note", self.note)
        layout.addRow(self.commit_button)

    def _clicked(self) -> None:
        self.commitRequested.emit(self.curator.text().strip(), self.note.text().strip())
