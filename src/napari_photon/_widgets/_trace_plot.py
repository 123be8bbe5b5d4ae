"""Traces of the selected ROIs (pyqtgraph), tied to napari's time slider.

Two plots share the frame axis: fluorescence with its neuropil (photons per pixel) above,
dF/F below. A vertical line marks the frame the viewer shows; a click on either plot asks
for that frame (``frameClicked``), which the dock passes to ``viewer.dims``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

__all__ = ["TracePlot"]

#: at most this many ROIs are drawn (their traces would be unreadable beyond)
MAX_CURVES = 8
_PALETTE = ("#4fc3f7", "#ffb74d", "#aed581", "#f06292", "#ba68c8", "#fff176", "#4db6ac", "#e57373")


class TracePlot(QWidget):
    """F and neuropil (top), dF/F (bottom) of up to :data:`MAX_CURVES` ROIs.

    Signals
    -------
    frameClicked(int)
        The frame under a click on a plot.
    """

    frameClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(180)
        self.fluorescence = self.graphics.addPlot(row=0, col=0)
        self.dff = self.graphics.addPlot(row=1, col=0)
        self.dff.setXLink(self.fluorescence)
        self.fluorescence.setLabel("left", "F, neuropil")
        self.dff.setLabel("left", "dF/F")
        self.dff.setLabel("bottom", "frame")
        self.fluorescence.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.cursors = []
        for plot in (self.fluorescence, self.dff):
            plot.showGrid(x=True, y=True, alpha=0.2)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#ffffff", width=1))
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.caption = QLabel("Select ROIs to see their traces.")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.shown: list[int] = []
        self._curves: list[Any] = []

    # -- content -------------------------------------------------------------------------
    def show_traces(self, traces: Mapping[int, Mapping[str, np.ndarray | None]]) -> None:
        """Draw ``{roi_id: {"fluorescence": F, "neuropil": N, "dff": D}}`` (any may be
        None or missing: that curve is left out)."""
        import pyqtgraph as pg

        for plot in (self.fluorescence, self.dff):
            for curve in self._curves:
                if curve.getViewBox() is plot.getViewBox():
                    plot.removeItem(curve)
        legend = self.fluorescence.legend
        if legend is not None:
            legend.clear()
        self._curves = []
        rois = list(traces)[:MAX_CURVES]
        for i, roi in enumerate(rois):
            color = _PALETTE[i % len(_PALETTE)]
            series = traces[roi]
            for name, plot, style in (
                ("fluorescence", self.fluorescence, {"color": color, "width": 1}),
                ("neuropil", self.fluorescence, {"color": color, "width": 1, "style": 3}),
                ("dff", self.dff, {"color": color, "width": 1}),
            ):
                values = series.get(name)
                if values is None:
                    continue
                label = f"ROI {roi}" if name == "fluorescence" else None
                pen = pg.mkPen(**{k: v for k, v in style.items() if k != "style"})
                if "style" in style:
                    from qtpy.QtCore import Qt

                    pen.setStyle(Qt.PenStyle.DotLine)
                curve = plot.plot(np.asarray(values, dtype=np.float32), pen=pen, name=label)
                self._curves.append(curve)
        self.shown = rois
        if not traces:
            self.caption.setText("Select ROIs to see their traces.")
        else:
            extra = len(traces) - len(rois)
            more = f" (first {len(rois)} of {len(traces)} shown)" if extra > 0 else ""
            self.caption.setText(
                f"Traces of ROI {', '.join(map(str, rois))}{more}: F solid, neuropil dotted."
            )
        for plot in (self.fluorescence, self.dff):
            plot.enableAutoRange()

    def set_message(self, text: str) -> None:
        self.caption.setText(text)

    def curves(self) -> int:
        """Number of curves drawn."""
        return len(self._curves)

    # -- the time cursor -----------------------------------------------------------------
    @property
    def frame(self) -> int:
        return int(round(self.cursors[0].value()))

    def set_frame(self, frame: int) -> None:
        """Move the cursor line to ``frame``."""
        for cursor in self.cursors:
            cursor.setValue(frame)

    def _clicked(self, event: Any) -> None:
        for plot in (self.fluorescence, self.dff):
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(event.scenePos()):
                x = box.mapSceneToView(event.scenePos()).x()
                self.frameClicked.emit(max(0, int(round(x))))
                return
