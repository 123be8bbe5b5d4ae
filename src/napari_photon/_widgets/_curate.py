"""The "Curate ROIs" dock: look at a recording's ROIs, relabel and edit them, commit.

The dock composes small widgets (ROI table, trace plot, action buttons, bulk relabel,
commit panel); what they show and do comes from :class:`napari_photon.browse.CurateModel`
(no science here). The recording is found like the Process dock finds it: from the
layers' metadata (``layer.metadata["key"]``, as the pipeline browser sets it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import browse
from ._bulk_relabel import BulkRelabel
from ._curate_actions import ACTIONS, CurateActions
from ._curate_files import CurateFiles
from ._curation_commit import CommitPanel
from ._draft_bar import DraftBar
from ._roi_table import RoiTable
from ._suggest_panel import SuggestPanel
from ._trace_plot import TracePlot
from ._open_recordings import fill_recording_box, layer_recording, open_recordings
from ._worker import WorkerPool, readable, show_message

if TYPE_CHECKING:
    import napari

__all__ = ["CurateRois"]

#: names of the layers the dock adds (after the recording's label)
CURATION_NAME, DRAW_NAME, LINE_NAME = "curation", "draw ROI", "split line"
_LABEL_OF = {"accept": "cell", "reject": "not cell", "unsure": "unsure"}


def _pipeline_of(schema: str | None) -> Any:
    """The pipeline of ``schema``: the one open in this process, or activated."""
    from .. import pipeline

    schema = schema or pipeline.DEFAULT_SCHEMA
    return pipeline.find(schema) or pipeline.activate(schema)


class CurateRois(QWidget):
    """Curate the ROIs of a recording open in the viewer.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Signals
    -------
    loaded()
        The recording's ROIs are shown (layers, table).
    tracesShown(list)
        The traces of these roi_ids are drawn.
    changed()
        An action, undo or redo changed the set, and the dock shows the new one.
    committed(dict)
        The key of the stored curation.
    suggested()
        The probability column (Suggest) is shown.
    failed(str)
        A message about bad input or a failed load or commit (nothing changed).
    """

    loaded = Signal()
    tracesShown = Signal(list)
    changed = Signal()
    committed = Signal(dict)
    suggested = Signal()
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.recordings: list[tuple[dict, str | None]] = []
        self.model: browse.CurateModel | None = None
        self.selected: list[int] = []
        self.layer: Any = None  # the Labels layer of the curated set
        self.draw_layer: Any = None
        self.line_layer: Any = None
        self._layers: list = []
        self._pool = WorkerPool(self._set_busy)
        self._traces = WorkerPool()
        self._trace_request = 0
        self._load_request = 0
        self._suggesting: browse.CurateModel | None = None

        self.recording_box = QComboBox()
        self.recording_box.setToolTip("Recordings open in the viewer (from layer metadata)")
        self.recording_box.currentIndexChanged.connect(self._recording_chosen)
        self.color_box = QComboBox()
        self.color_box.addItem("label")
        self.color_box.setToolTip("Colour the ROIs by their label or by a metric (viridis)")
        self.color_box.currentIndexChanged.connect(self._recolor)
        self.hide_rejected = QCheckBox("Hide rejected")
        self.hide_rejected.toggled.connect(self._hide_rejected_toggled)
        self.start_box = QComboBox()
        self.start_box.setToolTip(
            "The set to curate: the detected ROIs, or a committed version (curation N); "
            "a commit records it as the new version's parent"
        )
        self.start_box.activated.connect(self._start_chosen)
        self.versions: list[dict] = []
        self._start_id: int | None = None
        top = QFormLayout()
        top.addRow("Recording", self.recording_box)
        top.addRow("Start from", self.start_box)
        colour_row = QHBoxLayout()
        colour_row.addWidget(self.color_box, 1)
        colour_row.addWidget(self.hide_rejected)
        top.addRow("Colour by", colour_row)

        self.table = RoiTable()
        self.table.selectionChanged.connect(lambda ids: self.select(ids, source="table"))
        self.plot = TracePlot()
        self.plot.frameClicked.connect(self._frame_clicked)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot)
        splitter.setSizes([300, 220])

        self.actions = CurateActions()
        self.actions.triggered.connect(self.act)
        self.actions.bind_shortcuts(self)
        self.bulk = BulkRelabel()
        self.bulk.counter = self._count_relabel
        self.bulk.applied.connect(self._relabel)
        self.commit_panel = CommitPanel()
        self.commit_panel.commitRequested.connect(self.commit)
        tabs = QTabWidget()
        tabs.addTab(self.actions, "Edit")
        tabs.addTab(self.bulk, "Relabel")
        self.files = CurateFiles()
        self.files.importRequested.connect(self.import_rois)
        self.files.exportRequested.connect(self.export_rois)
        self.suggestions = SuggestPanel()
        self.suggestions.suggestRequested.connect(self.suggest)
        self.suggestions.acceptRequested.connect(self.accept_suggestions)
        tabs.addTab(self.suggestions, "Suggest")
        tabs.addTab(self.files, "Files")
        tabs.addTab(self.commit_panel, "Commit")
        self.tabs = tabs

        self.draft_bar = DraftBar()
        self.draft_bar.restoreRequested.connect(self.restore_draft)
        self.draft_bar.discardRequested.connect(self.discard_draft)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.draft_bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(tabs)
        layout.addWidget(self.message)

        self.viewer.layers.events.inserted.connect(self._layers_changed)
        self.viewer.layers.events.removed.connect(self._layers_changed)
        self.viewer.dims.events.current_step.connect(self._step_changed)
        self._bind_viewer_keys()
        self._layers_changed()
        self._set_busy(False)

    # -- state -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pool.busy or self._traces.busy

    @property
    def recording(self) -> dict | None:
        index = self.recording_box.currentIndex()
        return self.recordings[index][0] if 0 <= index < len(self.recordings) else None

    def _schema(self) -> str | None:
        index = self.recording_box.currentIndex()
        return self.recordings[index][1] if 0 <= index < len(self.recordings) else None

    def _set_busy(self, _busy: bool = False) -> None:
        ready = self.model is not None and not self._pool.busy
        for button in self.actions.buttons.values():
            button.setEnabled(ready)
        self.commit_panel.commit_button.setEnabled(ready)
        self.files.set_enabled(ready)
        self.suggestions.suggest_button.setEnabled(ready)
        self.recording_box.setEnabled(not self._pool.busy)
        self.start_box.setEnabled(self.model is not None and not self._pool.busy)

    def _error(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else readable(error)
        show_message(self.message, text, error=True)
        self.failed.emit(text)

    # -- recordings in the viewer --------------------------------------------------------------
    def _layers_changed(self, _event: Any = None) -> None:
        found = open_recordings(self.viewer.layers)
        if [k for k, _ in found] == [k for k, _ in self.recordings]:
            return
        current = self.recording
        self.recordings = found
        fill_recording_box(self.recording_box, found, current)
        if self.recording != current:
            self._recording_chosen()

    def select_recording(self, recording: dict) -> None:
        """Curate ``recording`` (it must be open in the viewer)."""
        wanted = {k: str(v) for k, v in browse.recording_key(recording).items()}
        for index, (key, _schema) in enumerate(self.recordings):
            if {k: str(v) for k, v in key.items()} == wanted:
                if index == self.recording_box.currentIndex():
                    self._recording_chosen()
                else:
                    self.recording_box.setCurrentIndex(index)
                return
        raise ValueError(f"{wanted} is not open in the viewer")

    def _recording_chosen(self, _index: int = 0) -> None:
        self._start_id = None
        self._load()

    def start_from(self, curation_id: int | None) -> None:
        """Curate from the committed version ``curation_id`` of the set (None: the detected
        set); ``loaded`` follows."""
        self._start_id = None if curation_id is None else int(curation_id)
        self._load()

    def _start_chosen(self, index: int) -> None:
        if index > len(self.versions):
            return  # the imported set shown
        wanted = None if index <= 0 else int(self.versions[index - 1]["curation_id"])
        if wanted != self._start_id:
            self.start_from(wanted)

    def _load(self, *, resume: bool = False) -> None:
        recording, schema, start = self.recording, self._schema(), self._start_id
        if recording is None:
            show_message(self.message, "Open a recording with the pipeline browser first.")
            return
        self._load_request += 1
        request = self._load_request
        offered = self.draft_bar.info if resume else None

        def job() -> tuple[browse.CurateModel, list[dict]]:
            pipeline = _pipeline_of(schema)
            parent = browse.draft_parent(offered) if resume else start
            inputs = browse.load_curation(pipeline, recording, curation_id=parent)
            model = browse.CurateModel(inputs, resume=resume)
            return model, browse.curation_versions(pipeline, inputs.roi_key)

        show_message(self.message, f"Loading the ROIs of {browse.recording_label(recording)}…")
        self._pool.start(
            job, returned=lambda found: self._loaded(request, *found), errored=self._error
        )

    def _show_versions(self, versions: list[dict]) -> None:
        self.versions = list(versions)
        self.start_box.blockSignals(True)
        self.start_box.clear()
        self.start_box.addItem("detected set")
        for version in self.versions:
            note = f": {version['note']}" if version.get("note") else ""
            self.start_box.addItem(
                f"curation {version['curation_id']} ({version['curator']}{note})"
            )
        ids = [int(v["curation_id"]) for v in self.versions]
        parent = self.model.inputs.parent_curation_id if self.model is not None else None
        self.start_box.setCurrentIndex(ids.index(parent) + 1 if parent in ids else 0)
        kind = self.model.inputs.parent_kind if self.model is not None else "detected"
        if kind not in ("detected", "curation"):
            self.start_box.addItem(f"{kind} file (imported)")
            self.start_box.setCurrentIndex(self.start_box.count() - 1)
        self.start_box.blockSignals(False)

    # -- showing a model -------------------------------------------------------------------------
    def show_model(self, model: browse.CurateModel, versions: list[dict] | None = None) -> None:
        """Show ``model`` (what loading a recording does; also for scripts and benchmarks)."""
        self._load_request += 1
        self._loaded(self._load_request, model, versions or [])

    def _loaded(self, request: int, model: browse.CurateModel, versions: list[dict]) -> None:
        if request != self._load_request:
            return
        self._remove_layers()
        self.model = model
        model.on_change(self._model_changed)
        self.selected = []
        self._add_layers(model)
        self._refresh()
        self._show_versions(versions)
        self.draft_bar.offer(model.pending_draft())
        show_message(self.message, "")
        self._set_busy()
        self.loaded.emit()

    def _prefix(self) -> str:
        return browse.recording_label(self.model.inputs.key)

    def _metadata(self, role: str) -> dict:
        inputs = self.model.inputs
        return browse.layer_metadata(
            inputs.key, table="ROI", row_key=inputs.roi_key, role=role, schema=inputs.schema
        )

    def _add_layers(self, model: browse.CurateModel) -> None:
        from napari.utils.colormaps import DirectLabelColormap

        inputs, prefix = model.inputs, self._prefix()
        shown = {
            (layer.metadata or {}).get(browse.METADATA_KEY, {}).get("role")
            for layer in self.viewer.layers
            if layer_recording(layer) is not None
            and layer_recording(layer)[0] == inputs.key
        }
        if inputs.corrected is not None and "corrected" not in shown:
            data, limits = browse.movie_view(inputs.corrected)
            self._layers.append(
                self.viewer.add_image(
                    data, name=f"{prefix} motion corrected", contrast_limits=limits,
                    colormap="gray", cache=False, metadata=self._metadata("corrected"),
                )
            )
        for name, image in inputs.images.items():
            self._layers.append(
                self.viewer.add_image(
                    image, name=f"{prefix} {name} (curation)", colormap="gray",
                    visible=name == "correlation" and inputs.corrected is None,
                    metadata=self._metadata("image"),
                )
            )
        self.layer = self.viewer.add_labels(
            model.label_image(),
            name=f"{prefix} {CURATION_NAME}",
            opacity=0.6,
            colormap=DirectLabelColormap(color_dict=model.colors()),
            metadata=self._metadata("curation"),
        )
        self.layer.mouse_drag_callbacks.append(self._canvas_clicked)
        self.layer.events.selected_label.connect(self._label_picked)
        self.draw_layer = self.viewer.add_labels(
            np.zeros(model.shape, dtype=np.uint8), name=f"{prefix} {DRAW_NAME}", opacity=0.7,
            metadata=self._metadata("draw"),
        )
        self.draw_layer.selected_label = 1
        self.line_layer = self.viewer.add_shapes(
            name=f"{prefix} {LINE_NAME}", edge_color="#ffffff", edge_width=1, face_color="transparent",
            metadata=self._metadata("line"),
        )
        self._layers += [self.layer, self.draw_layer, self.line_layer]
        self._bind_layer_keys(self.layer)
        self.viewer.layers.selection.active = self.layer

    def _remove_layers(self) -> None:
        for layer in self._layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self._layers = []
        self.layer = self.draw_layer = self.line_layer = None

    def _refresh(self) -> None:
        """Show the model's current set: the layer's labels and colours, the table."""
        model = self.model
        ids, columns = model.columns()
        self.table.model.set_rois(ids, columns)
        numeric = self.table.model.numeric_names()
        numeric = [n for n in numeric if n != "roi_id"]
        self.bulk.set_metrics(numeric)
        current = self.color_box.currentText()
        names = ["label", *numeric]
        if names != [self.color_box.itemText(i) for i in range(self.color_box.count())]:
            self.color_box.blockSignals(True)
            self.color_box.clear()
            self.color_box.addItems(names)
            self.color_box.setCurrentIndex(names.index(current) if current in names else 0)
            self.color_box.blockSignals(False)
        self.layer.data = model.label_image()
        self._recolor()
        present = set(int(r) for r in ids)
        self.select([r for r in self.selected if r in present], source="model")

    def _recolor(self, _index: int = 0) -> None:
        if self.model is None or self.layer is None:
            return
        from napari.utils.colormaps import DirectLabelColormap

        colors = self.model.colors(
            self.color_box.currentText() or "label", hide_rejected=self.hide_rejected.isChecked()
        )
        self.layer.colormap = DirectLabelColormap(color_dict=colors)
        hidden = {"not cell"} if self.hide_rejected.isChecked() else set()
        self.table.proxy.set_hidden_labels(hidden)

    def _hide_rejected_toggled(self, _checked: bool) -> None:
        self._recolor()

    # -- drafts ----------------------------------------------------------------------------------
    def restore_draft(self) -> None:
        """Continue the offered draft (from the version it started from); ``loaded`` follows."""
        if self.draft_bar.info is None:
            return
        self._start_id = browse.draft_parent(self.draft_bar.info)
        self._load(resume=True)

    def discard_draft(self) -> None:
        """Delete the offered draft; the set shown stays."""
        if self.model is not None:
            self.model.discard_draft()
        self.draft_bar.offer(None)

    def _model_changed(self) -> None:
        self.draft_bar.offer(None)  # this session's own saves replaced the old draft
        self._refresh()
        self.changed.emit()

    # -- selection -------------------------------------------------------------------------------
    def select(self, roi_ids: list[int], *, source: str = "api") -> None:
        """Select ``roi_ids`` everywhere: table, layer (``selected_label``), trace plot."""
        roi_ids = [int(r) for r in roi_ids]
        self.selected = roi_ids
        if source != "table":
            self.table.select(roi_ids)
        if self.layer is not None and roi_ids:
            with self.layer.events.selected_label.blocker(self._label_picked):
                self.layer.selected_label = roi_ids[0] + 1
        self._show_traces(roi_ids)

    def _label_picked(self, _event: Any = None) -> None:
        value = int(self.layer.selected_label)
        if self.model is not None and 0 < value <= len(self.model.rois):
            self.select([value - 1], source="layer")

    def _canvas_clicked(self, layer: Any, event: Any) -> None:
        if layer.mode != "pan_zoom" or self.model is None:
            return
        y, x = (int(round(v)) for v in layer.world_to_data(event.position)[-2:])
        if not (0 <= y < self.model.shape[0] and 0 <= x < self.model.shape[1]):
            return
        roi = self.model.roi_at(y, x)
        if roi is None:
            return
        if "Shift" in {str(m) for m in event.modifiers} or "Control" in {
            str(m) for m in event.modifiers
        }:
            chosen = [r for r in self.selected if r != roi]
            if len(chosen) == len(self.selected):
                chosen.append(roi)
            self.select(chosen, source="canvas")
        else:
            self.select([roi], source="canvas")

    # -- traces ----------------------------------------------------------------------------------
    def _show_traces(self, roi_ids: list[int]) -> None:
        self._trace_request += 1
        request = self._trace_request
        if not roi_ids or self.model is None:
            self.plot.show_traces({})
            self.tracesShown.emit([])
            return
        model = self.model
        self.plot.set_message(f"Reading the traces of ROI {', '.join(map(str, roi_ids[:8]))}…")
        self._traces.start(
            model.traces,
            roi_ids[:8],
            returned=lambda traces: self._traces_read(request, roi_ids, traces),
            errored=self._error,
        )

    def _traces_read(self, request: int, roi_ids: list[int], traces: dict) -> None:
        if request != self._trace_request:
            return
        self.plot.show_traces({r: traces[r] for r in roi_ids if r in traces})
        self.plot.set_frame(self.viewer.dims.current_step[0])
        if not traces:
            self.plot.set_message("No traces stored for these ROIs (populate Trace first).")
        self.tracesShown.emit(list(roi_ids))

    def _step_changed(self, _event: Any = None) -> None:
        self.plot.set_frame(self.viewer.dims.current_step[0])

    def _frame_clicked(self, frame: int) -> None:
        if self.viewer.dims.ndim >= 3:
            last = int(self.viewer.dims.nsteps[0]) - 1
            self.viewer.dims.set_current_step(0, min(frame, last))

    # -- actions ---------------------------------------------------------------------------------
    def _bind_viewer_keys(self) -> None:
        """The action keys also work over the canvas (napari's key bindings)."""
        for action in ACTIONS:
            if "Ctrl" in action.key:
                continue  # undo/redo are bound on the curation layer (napari's own Ctrl+Z)
            key = action.key.replace("Shift+", "Shift-")
            self.viewer.bind_key(key, self._key_handler(action.name), overwrite=True)

    def _bind_layer_keys(self, layer: Any) -> None:
        for action in ACTIONS:
            key = action.key.replace("Ctrl+", "Control-").replace("Shift+", "Shift-")
            layer.bind_key(key, self._key_handler(action.name), overwrite=True)

    def _key_handler(self, name: str) -> Any:
        def handler(_target: Any) -> None:
            self.act(name)

        return handler

    def act(self, name: str) -> None:
        """Run the action ``name`` (see :data:`~._curate_actions.ACTIONS`) on the selection;
        bad input shows a message and changes nothing."""
        model = self.model
        if model is None:
            self._error("Open a recording's ROIs first.")
            return
        if name == "hide_rejected":
            self.hide_rejected.toggle()
            return
        try:
            result = self._run(model, name)
        except (ValueError, LookupError) as err:  # the model's CurationError is a ValueError
            self._error(err)
            return
        show_message(self.message, "")
        if result is not None:
            self.select(list(result), source="model")

    def _run(self, model: browse.CurateModel, name: str) -> list[int] | None:
        chosen = list(self.selected)
        if name in _LABEL_OF:
            return model.set_label(chosen, _LABEL_OF[name]) or chosen
        if name == "merge":
            return model.merge(chosen)
        if name == "split":
            return model.split_by_correlation(self._one(chosen, "split"))
        if name == "split_line":
            return model.split_by_line(self._one(chosen, "split"), self._line())
        if name == "add_drawn":
            result = model.draw(self._drawn())
            self._clear_drawing()
            return result
        if name == "erase":
            result = model.erase(self._one(chosen, "erase from"), self._drawn())
            self._clear_drawing()
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

    @staticmethod
    def _one(chosen: list[int], what: str) -> int:
        if len(chosen) != 1:
            raise ValueError(f"Select exactly one ROI to {what} (selected: {len(chosen)}).")
        return chosen[0]

    def _line(self) -> np.ndarray:
        shapes = self.line_layer
        if shapes is None or len(shapes.data) == 0:
            raise ValueError(
                "Draw a line (or path) across the ROI in the 'split line' layer first."
            )
        return np.asarray(shapes.data[-1])[:, -2:]

    def _drawn(self) -> np.ndarray:
        """What is painted in the draw layer, and the polygons of the line layer, as a mask
        (points outside the frame are refused)."""
        mask = np.asarray(self.draw_layer.data) > 0
        shapes = self.line_layer
        closed = [
            i for i, kind in enumerate(shapes.shape_type) if kind in ("polygon", "rectangle", "ellipse")
        ]
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

    def _clear_drawing(self) -> None:
        self.draw_layer.data = np.zeros_like(self.draw_layer.data)
        kept = [i for i, kind in enumerate(self.line_layer.shape_type) if kind in ("line", "path")]
        closed = set(range(len(self.line_layer.data))) - set(kept)
        if closed:
            self.line_layer.selected_data = closed
            self.line_layer.remove_selected()

    def _count_relabel(self, metric: str, threshold: float, above: bool, label: str) -> int:
        return 0 if self.model is None else self.model.count_relabel(metric, threshold, above, label)

    def _relabel(self, metric: str, threshold: float, above: bool, label: str) -> None:
        if self.model is None:
            return
        try:
            self.model.relabel_where(metric, threshold, above, label)
        except (ValueError, LookupError) as err:
            self._error(err)

    # -- suggestions -----------------------------------------------------------------------------
    def suggest(self) -> None:
        """Learn from the pipeline's committed curations, then show each ROI's
        probability of being a cell in the table."""
        model = self.model
        if model is None:
            self._error("Open a recording's ROIs first.")
            return
        # In the GUI thread (under a second for a lab's curations): run from a worker, the
        # result sometimes never arrived in the tests (not understood yet)
        from qtpy.QtWidgets import QApplication

        show_message(self.message, "Learning from the committed curations…")
        self._suggesting = model
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            found = model.suggest()
        except (ValueError, LookupError) as err:
            self._error(err)
            return
        finally:
            QApplication.restoreOverrideCursor()
        self._suggestions_found(found)

    def _suggestions_found(self, found: Any) -> None:
        model = self._suggesting
        if model is not self.model:
            self._error("The recording changed while learning: click Suggest again.")
            return
        try:
            model.set_suggestions(found)
        except ValueError as err:
            self._error(err)
            return
        self._refresh()
        self.suggestions.show_trained_on(model.trained_on, found.counts)
        show_message(self.message, "")
        self.suggested.emit()

    def accept_suggestions(self, p: float) -> None:
        """Label every ROI whose probability is above ``p`` a cell (one undoable action)."""
        if self.model is None:
            return
        try:
            self.model.relabel_where("probability", p, True, "cell")
        except (ValueError, LookupError) as err:
            self._error(err)

    # -- files -----------------------------------------------------------------------------------
    def import_rois(self, kind: str, path: str) -> None:
        """Curate the ROIs of a ``kind`` file (suite2p folder, ImageJ zip, CaImAn HDF5)
        instead; a file of another frame size shows why and changes nothing."""
        if self.model is None:
            self._error("Open a recording's ROIs first.")
            return
        try:
            self.model.import_rois(kind, path)
        except (ValueError, LookupError, OSError) as err:
            self._error(f"Cannot start from {path}: {readable(err)}")
            return
        self._show_versions(self.versions)
        show_message(self.message, f"Curating {len(self.model.rois)} ROIs from {kind}: {path}")

    def export_rois(self, kind: str, path: str) -> None:
        """Write the current set for ``kind`` (suite2p folder or ImageJ RoiSet zip)."""
        if self.model is None:
            self._error("Open a recording's ROIs first.")
            return
        try:
            written = self.model.export_rois(kind, path)
        except (ValueError, OSError) as err:
            self._error(f"Cannot export to {path}: {readable(err)}")
            return
        show_message(self.message, "Wrote " + ", ".join(str(p) for p in written))

    # -- commit ----------------------------------------------------------------------------------
    def commit(self, curator: str = "", note: str = "") -> None:
        """Store the curated set as a new version, then compute its traces (a worker)."""
        model = self.model
        if model is None:
            return
        if not curator:
            self._error("Name the curator before committing.")
            return

        def job() -> tuple[dict, list[dict]]:
            key = model.commit(curator=curator, note=note)
            return key, browse.curation_versions(model.inputs.pipeline, model.inputs.roi_key)

        show_message(self.message, "Committing…")
        self._pool.start(job, returned=self._committed, errored=self._error)

    def _committed(self, found: tuple[dict, list[dict]]) -> None:
        from ._changes import pipeline_changes

        key, versions = found
        self._show_versions(versions)
        self.draft_bar.offer(None)
        show_message(
            self.message,
            f"Committed curation {key.get('curation_id')} of {self._prefix()} with its traces.",
        )
        self.committed.emit(key)
        pipeline_changes().changed.emit(self.model.inputs.schema, self)
