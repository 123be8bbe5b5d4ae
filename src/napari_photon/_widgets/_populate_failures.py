"""The Populate dock's list of failed keys with their error messages, and Retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from napari_photon.pipeline import FailedKey


def describe_key(key: dict) -> str:
    """``mouse_id=1, session_date=2024-01-15``: a key as one short line."""
    return ", ".join(f"{k}={v}" for k, v in key.items())


class FailuresList(QWidget):
    """Failed keys and a Retry button.

    Each failed key is a row "table | key" with its error message on a line below it
    (the full message and stack summary in the tooltip). Retry acts on the selected
    keys, or on every listed key when none is selected.

    Signals
    -------
    retry_requested(list)
        The list of :class:`~napari_photon.pipeline.FailedKey` to retry.
    """

    retry_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Failed keys</b>: none", self)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Table", "Key"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(12)
        # error lines start with the exception and end with the reason: keep both ends
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setMinimumHeight(70)
        self.tree.setWordWrap(False)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setToolTip(
            "Clear the error of the selected keys (all keys when none is selected) and "
            "populate them again; fix the cause first (e.g. replace a corrupt TIFF)"
        )
        self.retry_button.clicked.connect(self._retry)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self._failures: list[FailedKey] = []
        self._retry_allowed = True
        self.set_failures([])

    @property
    def failures(self) -> list[FailedKey]:
        """The keys listed, in display order."""
        return list(self._failures)

    def set_failures(self, failures: list[FailedKey]) -> None:
        """Replace the list."""
        self._failures = []
        self.tree.clear()
        for failure in failures:
            self.add(failure)
        self._update_title()

    def add(self, failure: FailedKey) -> None:
        """Append one failed key (as a run reports it)."""
        self._failures.append(failure)
        message = failure.message.strip()
        first_line = message.splitlines()[0] if message else "(no message)"
        item = QTreeWidgetItem([failure.table, describe_key(failure.key)])
        error = QTreeWidgetItem([first_line])
        error.setForeground(0, QBrush(QColor("#e0584b")))
        when = f"\nfailed at {failure.when:%Y-%m-%d %H:%M:%S}" if failure.when else ""
        tip = f"{failure.table} {describe_key(failure.key)}{when}\n\n{failure.message}"
        for column in range(2):
            item.setToolTip(column, tip)
        error.setToolTip(0, tip)
        item.addChild(error)
        self.tree.addTopLevelItem(item)
        error.setFirstColumnSpanned(True)
        item.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self._update_title()

    def error_text(self, index: int) -> str:
        """The error line shown under failed key ``index``."""
        return self.tree.topLevelItem(index).child(0).text(0)

    def selected(self) -> list[FailedKey]:
        """The selected failures, or all of them when none is selected."""
        picked = (item.parent() or item for item in self.tree.selectedItems())
        rows = sorted({self.tree.indexOfTopLevelItem(item) for item in picked})
        return [self._failures[r] for r in rows] if rows else list(self._failures)

    def set_retry_enabled(self, enabled: bool) -> None:
        """Allow Retry (while no run goes on); it stays disabled with nothing listed."""
        self._retry_allowed = enabled
        self.retry_button.setEnabled(enabled and bool(self._failures))

    def _update_title(self) -> None:
        n = len(self._failures)
        self.title.setText(f"<b>Failed keys</b>: {n if n else 'none'}")
        self.retry_button.setEnabled(self._retry_allowed and bool(n))

    def _retry(self) -> None:
        chosen = self.selected()
        if chosen:
            self.retry_requested.emit(chosen)
