"""The Files tab of the curation dock: start from another tool's ROIs, export the set."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QGridLayout, QLabel, QPushButton, QWidget

__all__ = ["FILE_KINDS", "CurateFiles"]

#: kind -> (button text, what the picker asks for: "folder" or a name filter)
FILE_KINDS = {
    "suite2p": ("suite2p folder (stat.npy + iscell.npy)…", "folder"),
    "imagej": ("ImageJ RoiSet (.zip)…", "ImageJ RoiSet (*.zip *.roi)"),
    "caiman": ("CaImAn CNMF (.hdf5)…", "CaImAn HDF5 (*.hdf5 *.h5)"),
}
#: the kinds that can be written
EXPORTS = ("suite2p", "imagej")


class CurateFiles(QWidget):
    """``importRequested(kind, path)`` / ``exportRequested(kind, path)`` after a file picker."""

    importRequested = Signal(str, str)
    exportRequested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Start from"), 0, 0)
        layout.addWidget(QLabel("Export"), 0, 1)
        self.import_buttons: dict[str, QPushButton] = {}
        self.export_buttons: dict[str, QPushButton] = {}
        for row, (kind, (text, _ask)) in enumerate(FILE_KINDS.items(), start=1):
            button = QPushButton(text)
            button.setToolTip(
                f"Replace the set with the ROIs of a {kind} result on this recording's frame "
                "(another frame size is refused); a commit records it as the parent"
            )
            button.clicked.connect(lambda _=False, k=kind: self._pick(k, save=False))
            self.import_buttons[kind] = button
            layout.addWidget(button, row, 0)
            if kind in EXPORTS:
                out = QPushButton(text.replace("(stat.npy + iscell.npy)", "").strip())
                out.setToolTip(f"Write the current set (with its labels) for {kind}")
                out.clicked.connect(lambda _=False, k=kind: self._pick(k, save=True))
                self.export_buttons[kind] = out
                layout.addWidget(out, row, 1)

    def _pick(self, kind: str, *, save: bool) -> None:
        ask = FILE_KINDS[kind][1]
        if ask == "folder":
            path = QFileDialog.getExistingDirectory(self, f"{kind} folder")
        elif save:
            path, _ = QFileDialog.getSaveFileName(self, f"Export {kind}", "RoiSet.zip", ask)
        else:
            path, _ = QFileDialog.getOpenFileName(self, f"Start from {kind}", "", ask)
        if path:
            (self.exportRequested if save else self.importRequested).emit(kind, path)

    def set_enabled(self, enabled: bool) -> None:
        for button in [*self.import_buttons.values(), *self.export_buttons.values()]:
            button.setEnabled(enabled)
