"""The curation dock's action buttons, each with its keyboard shortcut."""

from __future__ import annotations

from dataclasses import dataclass

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QKeySequence, QShortcut
from qtpy.QtWidgets import QGridLayout, QPushButton, QWidget

__all__ = ["ACTIONS", "Action", "CurateActions"]


@dataclass(frozen=True)
class Action:
    """One action: its name (what ``triggered`` carries), button text, key and help."""

    name: str
    text: str
    key: str
    help: str


#: the actions, in button order (three per row)
ACTIONS = (
    Action("accept", "Accept", "C", "Label the selected ROIs: cell"),
    Action("reject", "Reject", "X", "Label the selected ROIs: not cell"),
    Action("unsure", "Unsure", "U", "Label the selected ROIs: unsure"),
    Action("merge", "Merge", "G", "Merge the selected ROIs into one"),
    Action("split", "Split", "K", "Split the selected ROI in two by its correlation image"),
    Action("split_line", "Split along line", "Shift+K",
           "Split the selected ROI along the line drawn in the 'split line' shapes layer"),
    Action("add_drawn", "Add drawn", "N",
           "Add what is painted in the 'draw ROI' layer (or its polygons) as a new ROI"),
    Action("erase", "Erase drawn part", "Shift+E",
           "Remove what is painted in the 'draw ROI' layer from the selected ROI"),
    Action("delete", "Delete", "Delete", "Delete the selected ROIs"),
    Action("undo", "Undo", "Ctrl+Z", "Undo the last action"),
    Action("redo", "Redo", "Ctrl+Shift+Z", "Redo the action undone last"),
    Action("hide_rejected", "Hide rejected", "H", "Hide or show the ROIs labelled not cell"),
)


class CurateActions(QWidget):
    """A grid of buttons; each button and its shortcut emit ``triggered(name)``.

    The shortcuts work while focus is anywhere in the dock (the dock also binds them on
    the viewer, for the canvas).
    """

    triggered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, QPushButton] = {}
        self.shortcuts: dict[str, QShortcut] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, action in enumerate(ACTIONS):
            button = QPushButton(f"{action.text} ({action.key})")
            button.setToolTip(f"{action.help} [{action.key}]")
            button.clicked.connect(lambda _=False, name=action.name: self.triggered.emit(name))
            grid.addWidget(button, i // 3, i % 3)
            self.buttons[action.name] = button

    def bind_shortcuts(self, scope: QWidget) -> None:
        """Make the keys work anywhere inside ``scope`` (the dock)."""
        for action in ACTIONS:
            shortcut = QShortcut(QKeySequence(action.key), scope)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda name=action.name: self.triggered.emit(name))
            self.shortcuts[action.name] = shortcut
