"""The message bar that offers an uncommitted curation draft: Restore or Discard."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

__all__ = ["DraftBar"]


class DraftBar(QFrame):
    """Hidden until :meth:`offer`; ``restoreRequested`` / ``discardRequested`` on its buttons."""

    restoreRequested = Signal()
    discardRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("DraftBar { background: rgba(255, 200, 60, 40); }")
        self.info: Any = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Continue the draft (its ROIs and labels)")
        self.restore_button.clicked.connect(self.restoreRequested)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete the draft and curate from the set shown")
        self.discard_button.clicked.connect(self.discardRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.discard_button)
        self.setVisible(False)

    def offer(self, info: Any) -> None:
        """Show the draft ``info`` (a :class:`~napari_photon.curation.DraftInfo`), or hide
        the bar when None."""
        self.info = info
        if info is not None:
            saved = info.saved.astimezone().strftime("%Y-%m-%d %H:%M")
            actions = len(info.history)
            self.label.setText(
                f"An uncommitted draft of this recording ({info.n_rois} ROIs, {actions} "
                f"action{'s' if actions != 1 else ''}, saved {saved}) was found."
            )
        self.setVisible(info is not None)
