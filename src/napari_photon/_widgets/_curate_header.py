"""The top of the curation dock: which recording, which version to start from, colour by."""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QWidget

__all__ = ["CurateHeader"]


class CurateHeader(QWidget):
    """``recording_box``, ``start_box`` (detected set, committed versions, an imported
    file), ``color_box`` (label or a metric) and ``hide_rejected``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recording_box = QComboBox()
        self.recording_box.setToolTip("Recordings open in the viewer (from layer metadata)")
        self.color_box = QComboBox()
        self.color_box.addItem("label")
        self.color_box.setToolTip("Colour the ROIs by their label or by a metric (viridis)")
        self.hide_rejected = QCheckBox("Hide rejected")
        self.start_box = QComboBox()
        self.start_box.setToolTip(
            "The set to curate: the detected ROIs, or a committed version (curation N); "
            "a commit records it as the new version's parent"
        )
        top = QFormLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addRow("Recording", self.recording_box)
        top.addRow("Start from", self.start_box)
        colour_row = QHBoxLayout()
        colour_row.addWidget(self.color_box, 1)
        colour_row.addWidget(self.hide_rejected)
        top.addRow("Colour by", colour_row)

    def show_versions(self, versions: list[dict], parent: int | None, kind: str) -> None:
        """Offer the detected set and ``versions``; choose ``parent`` (the version the set
        shown started from), or the imported ``kind`` file."""
        box = self.start_box
        box.blockSignals(True)
        box.clear()
        box.addItem("detected set")
        for version in versions:
            note = f": {version['note']}" if version.get("note") else ""
            box.addItem(f"curation {version['curation_id']} ({version['curator']}{note})")
        ids = [int(v["curation_id"]) for v in versions]
        box.setCurrentIndex(ids.index(parent) + 1 if parent in ids else 0)
        if kind not in ("detected", "curation"):
            box.addItem(f"{kind} file (imported)")
            box.setCurrentIndex(box.count() - 1)
        box.blockSignals(False)

    def set_color_names(self, names: list[str]) -> None:
        """Offer ``names`` to colour by, keeping the current one when it is still there."""
        box = self.color_box
        current = box.currentText()
        if names != [box.itemText(i) for i in range(box.count())]:
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.setCurrentIndex(names.index(current) if current in names else 0)
            box.blockSignals(False)
