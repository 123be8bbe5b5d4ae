"""The curation dock's action buttons, each with its keyboard shortcut."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QKeySequence, QShortcut
from qtpy.QtWidgets import QGridLayout, QPushButton, QWidget

from ._drawing import clear_drawing, drawn_mask, split_line

if TYPE_CHECKING:
    from .. import browse

__all__ = [
    "ACTIONS", "Action", "CurateActions", "bind_layer_keys", "bind_viewer_keys", "run_action"
]


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


def _key_handler(act: Callable[[str], None], name: str) -> Any:
    def handler(_target: Any) -> None:
        act(name)

    return handler


def bind_viewer_keys(viewer: Any, act: Callable[[str], None]) -> None:
    """The action keys also work over the canvas (napari's key bindings): ``act(name)``."""
    for action in ACTIONS:
        if "Ctrl" in action.key:
            continue  # undo/redo are bound on the curation layer (napari's own Ctrl+Z)
        key = action.key.replace("Shift+", "Shift-")
        viewer.bind_key(key, _key_handler(act, action.name), overwrite=True)


def bind_layer_keys(layer: Any, act: Callable[[str], None]) -> None:
    """Every action key (undo and redo too) on ``layer``: ``act(name)``."""
    for action in ACTIONS:
        key = action.key.replace("Ctrl+", "Control-").replace("Shift+", "Shift-")
        layer.bind_key(key, _key_handler(act, action.name), overwrite=True)


_LABEL_OF = {"accept": "cell", "reject": "not cell", "unsure": "unsure"}


def _one(chosen: list[int], what: str) -> int:
    if len(chosen) != 1:
        raise ValueError(f"Select exactly one ROI to {what} (selected: {len(chosen)}).")
    return chosen[0]


def run_action(
    model: browse.CurateModel, name: str, chosen: list[int], draw_layer: Any, line_layer: Any
) -> list[int] | None:
    """Run the action ``name`` (not ``hide_rejected``) on the ROIs ``chosen``; what to
    select afterwards (None: leave the selection). Bad input raises ValueError/LookupError."""
    chosen = list(chosen)
    if name in _LABEL_OF:
        return model.set_label(chosen, _LABEL_OF[name]) or chosen
    if name == "merge":
        return model.merge(chosen)
    if name == "split":
        return model.split_by_correlation(_one(chosen, "split"))
    if name == "split_line":
        return model.split_by_line(_one(chosen, "split"), split_line(line_layer))
    if name == "add_drawn":
        result = model.draw(drawn_mask(draw_layer, line_layer))
        clear_drawing(draw_layer, line_layer)
        return result
    if name == "erase":
        result = model.erase(_one(chosen, "erase from"), drawn_mask(draw_layer, line_layer))
        clear_drawing(draw_layer, line_layer)
        return result
    if name == "delete":
        model.delete(chosen)
        return []
    if name == "undo":
        model.undo()
        return None
    if name == "redo":
        model.redo()
        return None
    raise ValueError(f"unknown action {name!r}")
