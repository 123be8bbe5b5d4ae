"""The "Curate ROIs" dock: look at a recording's ROIs, relabel and edit them, commit.

The dock composes small widgets (ROI table, trace plot, action buttons, bulk relabel,
commit panel); what they show and do comes from :class:`napari_photon.browse.CurateModel`
(no science here). The recording is found like the Process dock finds it: from the
layers' metadata (``layer.metadata["key"]``, as the pipeline browser sets it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from .. import browse
from ._bulk_relabel import BulkRelabel
from ._curate_actions import CurateActions, bind_layer_keys, bind_viewer_keys, run_action
from ._curate_files import CurateFiles
from ._curate_header import CurateHeader
from ._curate_io import FilesCommitMixin
from ._curate_suggest import SuggestMixin
from ._curate_traces import TracesMixin
from ._curation_layers import CURATION_NAME, DRAW_NAME, LINE_NAME, CurationLayers, display_labels
from ._curation_commit import CommitPanel
from ._draft_bar import DraftBar
from ._roi_table import RoiTable
from ._suggest_panel import SuggestPanel
from ._trace_plot import TracePlot
from ._open_recordings import chosen_recording, fill_recording_box, open_recordings
from ._worker import WorkerPool, readable, show_message

if TYPE_CHECKING:
    import napari

__all__ = ["CURATION_NAME", "DRAW_NAME", "LINE_NAME", "CurateRois"]


def _pipeline_of(schema: str | None) -> Any:
    """The pipeline of ``schema``: the one open in this process, or activated."""
    from .. import pipeline

    schema = schema or pipeline.DEFAULT_SCHEMA
    return pipeline.find(schema) or pipeline.activate(schema)


class CurateRois(TracesMixin, SuggestMixin, FilesCommitMixin, QWidget):
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
        self.curation_layers = CurationLayers(napari_viewer)
        self._pool = WorkerPool(self._set_busy)
        self._traces = WorkerPool()
        # results arriving after the dock was deleted (the viewer closed) are dropped
        self.destroyed.connect(self._pool.close)
        self.destroyed.connect(self._traces.close)
        self._trace_request = 0
        self._load_request = 0
        self._loaded_pending = False
        self._suggesting: browse.CurateModel | None = None

        self.header = CurateHeader()
        self.recording_box = self.header.recording_box
        self.recording_box.currentIndexChanged.connect(self._recording_chosen)
        self.color_box = self.header.color_box
        self.color_box.currentIndexChanged.connect(self._recolor)
        self.hide_rejected = self.header.hide_rejected
        self.hide_rejected.toggled.connect(self._hide_rejected_toggled)
        self.start_box = self.header.start_box
        self.start_box.activated.connect(self._start_chosen)
        self.versions: list[dict] = []
        self._start_id: int | None = None

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
        layout.addWidget(self.header)
        layout.addWidget(self.draft_bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(tabs)
        layout.addWidget(self.message)

        self.viewer.layers.events.inserted.connect(self._layers_changed)
        self.viewer.layers.events.removed.connect(self._layers_changed)
        self.viewer.dims.events.current_step.connect(self._step_changed)
        bind_viewer_keys(self.viewer, self.act)
        self._layers_changed()
        self._set_busy(False)

    # -- state -------------------------------------------------------------------------------
    @property
    def layer(self) -> Any:
        """The Labels layer of the curated set (None before a recording is shown)."""
        return self.curation_layers.layer

    @property
    def draw_layer(self) -> Any:
        return self.curation_layers.draw_layer

    @property
    def line_layer(self) -> Any:
        return self.curation_layers.line_layer

    @property
    def busy(self) -> bool:
        return self._pool.busy or self._traces.busy

    @property
    def recording(self) -> dict | None:
        return chosen_recording(self.recording_box, self.recordings)[0]

    def _schema(self) -> str | None:
        return chosen_recording(self.recording_box, self.recordings)[1]

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
            job, returned=lambda found: self._loaded(request, *found), errored=self._error,
            finished=self._load_finished,
        )

    def _show_versions(self, versions: list[dict]) -> None:
        self.versions = list(versions)
        parent = self.model.inputs.parent_curation_id if self.model is not None else None
        kind = self.model.inputs.parent_kind if self.model is not None else "detected"
        self.header.show_versions(self.versions, parent, kind)

    # -- showing a model -------------------------------------------------------------------------
    def show_model(self, model: browse.CurateModel, versions: list[dict] | None = None) -> None:
        """Show ``model`` (what loading a recording does; also for scripts and benchmarks)."""
        self._load_request += 1
        self._loaded(self._load_request, model, versions or [])

    def _loaded(self, request: int, model: browse.CurateModel, versions: list[dict]) -> None:
        if request != self._load_request:
            return
        self.curation_layers.remove()
        self.model = model
        model.on_change(self._model_changed)
        self.selected = []
        self._add_layers(model)
        self._refresh()
        self._show_versions(versions)
        self.draft_bar.offer(model.pending_draft())
        show_message(self.message, "")
        self._set_busy()
        if self._pool.busy:  # ``loaded`` means ready: the buttons enable once the load ends
            self._loaded_pending = True
        else:
            self.loaded.emit()

    def _load_finished(self) -> None:
        if self._loaded_pending and not self._pool.busy:
            self._loaded_pending = False
            self.loaded.emit()

    def _prefix(self) -> str:
        return self.curation_layers.prefix(self.model)

    def _add_layers(self, model: browse.CurateModel) -> None:
        self.curation_layers.add(model)
        self.layer.mouse_drag_callbacks.append(self._canvas_clicked)
        self.layer.events.selected_label.connect(self._label_picked)
        bind_layer_keys(self.layer, self.act)
        self.viewer.layers.selection.active = self.layer

    def _refresh(self) -> None:
        """Show the model's current set: the layer's labels and colours, the table."""
        model = self.model
        ids, columns = model.columns()
        self.table.model.set_rois(ids, columns)
        numeric = self.table.model.numeric_names()
        numeric = [n for n in numeric if n != "roi_id"]
        self.bulk.set_metrics(numeric)
        self.header.set_color_names(["label", *numeric])
        self.layer.data = display_labels(model.label_image())
        self._recolor()
        present = set(int(r) for r in ids)
        self.select([r for r in self.selected if r in present], source="model")

    def _recolor(self, _index: int = 0) -> None:
        if self.model is None or self.layer is None:
            return
        self.curation_layers.recolor(
            self.model, self.color_box.currentText() or "label",
            hide_rejected=self.hide_rejected.isChecked(),
        )
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

    # -- actions ---------------------------------------------------------------------------------
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
            result = run_action(model, name, self.selected, self.draw_layer, self.line_layer)
        except (ValueError, LookupError) as err:  # the model's CurationError is a ValueError
            self._error(err)
            return
        show_message(self.message, "")
        if result is not None:
            self.select(list(result), source="model")

    def _count_relabel(self, metric: str, threshold: float, above: bool, label: str) -> int:
        return 0 if self.model is None else self.model.count_relabel(metric, threshold, above, label)

    def _relabel(self, metric: str, threshold: float, above: bool, label: str) -> None:
        if self.model is None:
            return
        try:
            self.model.relabel_where(metric, threshold, above, label)
        except (ValueError, LookupError) as err:
            self._error(err)
