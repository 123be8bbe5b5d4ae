"""The layers the curation dock adds to the viewer: the movie and summary images, the
curated set (Labels), the 'draw ROI' Labels and the 'split line' Shapes layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import browse
from ._open_recordings import layer_recording

if TYPE_CHECKING:
    import napari

__all__ = ["CURATION_NAME", "DRAW_NAME", "LINE_NAME", "CurationLayers", "display_labels", "label_colormap"]

#: names of the layers the dock adds (after the recording's label)
CURATION_NAME, DRAW_NAME, LINE_NAME = "curation", "draw ROI", "split line"


def display_labels(label_image: np.ndarray) -> np.ndarray:
    """``label_image`` in the smallest unsigned dtype that holds it: napari colours uint8 and
    uint16 labels straight on the GPU, whereas wider ones go through a numba dictionary
    rebuilt (and, once per process, compiled) on every change."""
    top = int(label_image.max()) if label_image.size else 0
    for dtype in (np.uint8, np.uint16):
        if top <= np.iinfo(dtype).max:
            return label_image.astype(dtype, copy=False)
    return label_image


def label_colormap(table: np.ndarray) -> Any:
    """A napari colormap giving label value ``v`` the colour ``table[v]`` (row 0 is the
    background).

    Up to 2**16 colours this is a CyclicLabelColormap over ``table`` (it maps ``v`` to row
    ``(v - 1) % (len(table) - 1) + 1``, which is ``v`` for every value in the table): built and uploaded as one array, where a
    DirectLabelColormap validates each of 10,000 entries one by one (about 150 ms) and
    compiles numba dictionaries on first use (1-3 s). Beyond that, a DirectLabelColormap.
    """
    from napari.utils.colormaps import CyclicLabelColormap, DirectLabelColormap

    table = np.asarray(table, dtype=np.float32)
    if 2 <= len(table) <= 2**16:
        return CyclicLabelColormap(colors=table, background_value=0)
    colors: dict = {None: (0, 0, 0, 0), 0: (0, 0, 0, 0)}
    colors.update({value: tuple(rgba) for value, rgba in enumerate(table) if value})
    return DirectLabelColormap(color_dict=colors)


class CurationLayers:
    """The dock's layers in ``viewer``: :meth:`add` them for a model, :meth:`remove` them,
    :meth:`recolor` the curated set."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self.viewer = viewer
        self.layer: Any = None  # the Labels layer of the curated set
        self.draw_layer: Any = None
        self.line_layer: Any = None
        self.all: list = []

    @staticmethod
    def prefix(model: browse.CurateModel) -> str:
        return browse.recording_label(model.inputs.key)

    @staticmethod
    def metadata(model: browse.CurateModel, role: str) -> dict:
        inputs = model.inputs
        return browse.layer_metadata(
            inputs.key, table="ROI", row_key=inputs.roi_key, role=role, schema=inputs.schema
        )

    def add(self, model: browse.CurateModel) -> None:
        """Add the images (those of the recording not shown yet) and the editing layers;
        the curated set's layer becomes the active one."""
        inputs, prefix = model.inputs, self.prefix(model)
        shown = {
            (layer.metadata or {}).get(browse.METADATA_KEY, {}).get("role")
            for layer in self.viewer.layers
            if layer_recording(layer) is not None
            and layer_recording(layer)[0] == inputs.key
        }
        if inputs.corrected is not None and "corrected" not in shown:
            data, limits = browse.movie_view(inputs.corrected)
            self.all.append(
                self.viewer.add_image(
                    data, name=f"{prefix} motion corrected", contrast_limits=limits,
                    colormap="gray", cache=False, metadata=self.metadata(model, "corrected"),
                )
            )
        for name, image in inputs.images.items():
            self.all.append(
                self.viewer.add_image(
                    image, name=f"{prefix} {name} (curation)", colormap="gray",
                    visible=name == "correlation" and inputs.corrected is None,
                    metadata=self.metadata(model, "image"),
                )
            )
        self.layer = self.viewer.add_labels(
            display_labels(model.label_image()),
            name=f"{prefix} {CURATION_NAME}",
            opacity=0.6,
            colormap=label_colormap(model.color_table()),
            metadata=self.metadata(model, "curation"),
        )
        self.draw_layer = self.viewer.add_labels(
            np.zeros(model.shape, dtype=np.uint8), name=f"{prefix} {DRAW_NAME}", opacity=0.7,
            metadata=self.metadata(model, "draw"),
        )
        self.draw_layer.selected_label = 1
        self.line_layer = self.viewer.add_shapes(
            name=f"{prefix} {LINE_NAME}", edge_color="#ffffff", edge_width=1, face_color="transparent",
            metadata=self.metadata(model, "line"),
        )
        self.all += [self.layer, self.draw_layer, self.line_layer]

    def remove(self) -> None:
        for layer in self.all:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.all = []
        self.layer = self.draw_layer = self.line_layer = None

    def recolor(self, model: browse.CurateModel, by: str, *, hide_rejected: bool) -> None:
        """Colour the curated set by its label or the metric ``by``."""
        self.layer.colormap = label_colormap(model.color_table(by, hide_rejected=hide_rejected))
