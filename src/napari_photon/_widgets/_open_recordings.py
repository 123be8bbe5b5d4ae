"""The recordings open in a napari viewer, found from the layers' metadata, and the
"Recording" combo box of the docks that work on one of them (Process, Curate ROIs).

The pipeline browser puts ``layer.metadata["key"]`` (the recording's key) and
``layer.metadata[browse.METADATA_KEY]`` (its table, schema, role) on every layer it adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qtpy.QtWidgets import QComboBox

from .. import browse

__all__ = [
    "KEY_FIELDS",
    "chosen_recording",
    "fill_recording_box",
    "layer_recording",
    "open_recordings",
]

KEY_FIELDS = ("mouse_id", "session_date", "recording_num")


def layer_recording(layer: Any) -> tuple[dict, str | None] | None:
    """``(recording key, schema)`` of a 2-D recording's layer, or None (no key, a volume)."""
    key = (layer.metadata or {}).get("key")
    info = (layer.metadata or {}).get(browse.METADATA_KEY) or {}
    if not isinstance(key, dict) or not all(k in key for k in KEY_FIELDS):
        return None
    if info.get("table") == "VolumeRecording":
        return None
    return browse.recording_key(key), info.get("schema")


def open_recordings(layers: Iterable[Any]) -> list[tuple[dict, str | None]]:
    """Each recording with a layer, once, in the layers' order."""
    found: list[tuple[dict, str | None]] = []
    for layer in layers:
        item = layer_recording(layer)
        if item is not None and all(item[0] != k for k, _ in found):
            found.append(item)
    return found


def chosen_recording(
    box: QComboBox, found: list[tuple[dict, str | None]]
) -> tuple[dict | None, str | None]:
    """``(recording key, schema)`` chosen in ``box`` among ``found``; ``(None, None)``
    when nothing is chosen."""
    index = box.currentIndex()
    return found[index] if 0 <= index < len(found) else (None, None)


def fill_recording_box(box: QComboBox, found: list[tuple[dict, str | None]],
                       current: dict | None) -> None:
    """Show ``found`` in ``box`` (without signals), keeping ``current`` chosen if there."""
    box.blockSignals(True)
    box.clear()
    for key, _schema in found:
        box.addItem(browse.recording_label(key))
    keys = [k for k, _ in found]
    if current is not None and current in keys:
        box.setCurrentIndex(keys.index(current))
    box.blockSignals(False)
