"""Reading what the user draws for the curation dock: the 'draw ROI' Labels layer and the
'split line' Shapes layer (lines to split along, closed shapes to add or erase)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["clear_drawing", "drawn_mask", "split_line"]

_CLOSED = ("polygon", "rectangle", "ellipse")


def split_line(line_layer: Any) -> np.ndarray:
    """The last line (or path) of ``line_layer``, (y, x) points."""
    if line_layer is None or len(line_layer.data) == 0:
        raise ValueError("Draw a line (or path) across the ROI in the 'split line' layer first.")
    return np.asarray(line_layer.data[-1])[:, -2:]


def drawn_mask(draw_layer: Any, line_layer: Any) -> np.ndarray:
    """What is painted in ``draw_layer``, and the polygons of ``line_layer``, as a mask
    (points outside the frame are refused)."""
    mask = np.asarray(draw_layer.data) > 0
    shapes = line_layer
    closed = [i for i, kind in enumerate(shapes.shape_type) if kind in _CLOSED]
    for i in closed:
        points = np.asarray(shapes.data[i])[:, -2:]
        inside = (points >= 0).all() and (points[:, 0] < mask.shape[0]).all() and (
            points[:, 1] < mask.shape[1]
        ).all()
        if not inside:
            raise ValueError("The drawn shape lies (partly) outside the frame.")
        mask |= shapes._data_view.to_masks(mask_shape=mask.shape)[i].astype(bool)
    if not mask.any():
        raise ValueError(
            "Nothing is drawn: paint in the 'draw ROI' layer (or draw a polygon in the "
            "'split line' layer) first."
        )
    return mask


def clear_drawing(draw_layer: Any, line_layer: Any) -> None:
    """Empty ``draw_layer`` and remove the closed shapes of ``line_layer`` (lines stay)."""
    draw_layer.data = np.zeros_like(draw_layer.data)
    kept = [i for i, kind in enumerate(line_layer.shape_type) if kind in ("line", "path")]
    closed = set(range(len(line_layer.data))) - set(kept)
    if closed:
        line_layer.selected_data = closed
        line_layer.remove_selected()
