"""The process-recording dock: motion correction or ROI detection on an open recording.

Preview runs the table's own ``make`` in a dry run (nothing stored) and shows the result
as layers; Commit runs ``populate`` for that one key (see :mod:`napari_photon.browse._process`).
Both run in a napari generator worker that yields frame-level progress, and stop between
chunks on Cancel, leaving no row and no zarr behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import browse
from ..browse import Progress
from ._changes import pipeline_changes
from ._parameter_chooser import ParameterChooser
from ._step_progress import StepProgress
from ._open_recordings import (
    KEY_FIELDS,
    chosen_recording,
    fill_recording_box,
    layer_recording,
    open_recordings,
)
from ._worker import WorkerPool, readable, relay_runtime_errors, show_message

if TYPE_CHECKING:
    import napari

__all__ = ["ProcessRecording"]



def _with_progress(call: Callable[[], Any], cancel: Callable[[], bool]) -> Generator:
    """Generator worker body: yields :class:`Progress`, returns ``call()``'s result."""
    return (yield from relay_runtime_errors(browse.iterate_progress(call, cancel)))


def _step_of(schema: str | None, name: str) -> browse.ProcessStep:
    """Worker thread: step ``name`` of the pipeline in ``schema`` (the recording's): the
    one the browser opened there, or else opened on the default connection."""
    from .. import pipeline

    schema = schema or pipeline.DEFAULT_SCHEMA
    chosen = pipeline.find(schema) or pipeline.activate(schema)
    return browse.steps(chosen)[name]


class ProcessRecording(QWidget):
    """Run motion correction or ROI detection on a recording open in the viewer.

    The recording is taken from the layers' metadata (``layer.metadata["key"]``, as the
    pipeline browser sets it); parameters come from a stored parameter set, optionally
    edited in the form (an edited set is added to the parameter table when run).

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Signals
    -------
    choicesLoaded()
        Parameter sets and inputs for the current recording and step are shown.
    progressed(object)
        A :class:`napari_photon.browse.Progress` report.
    previewed(object)
        The :class:`napari_photon.browse.Preview` after a preview.
    committed(dict)
        The stored row's key after a commit.
    failed(str)
        The message of a failed (or cancelled) run.
    """

    choicesLoaded = Signal()
    progressed = Signal(object)
    previewed = Signal(object)
    committed = Signal(dict)
    failed = Signal(str)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.recordings: list[tuple[dict, str | None]] = []
        self.inputs: list[dict] = []
        self.last_preview: browse.Preview | None = None
        self._pool = WorkerPool(self._set_busy)
        self._choices = WorkerPool(self._set_busy)
        self._cancel = threading.Event()
        self._running = False
        self._preview_layers: list = []
        self._outcome: tuple[Any, Any] | None = None  # (signal, value) emitted when done
        self._choices_request = 0
        self._step: browse.ProcessStep | None = None  # of the choices shown

        self.recording_box = QComboBox()
        self.recording_box.setToolTip("Recordings open in the viewer (from layer metadata)")
        self.recording_box.currentIndexChanged.connect(self._load_choices)
        self.step_box = QComboBox()
        for name, title in browse.STEP_TITLES.items():
            self.step_box.addItem(title, name)
        self.step_box.currentIndexChanged.connect(self._load_choices)
        self.input_box = QComboBox()
        self.input_box.setToolTip("The upstream row to process (for ROIs: which motion correction)")
        self.parameters = ParameterChooser()
        self.params_box, self.form = self.parameters.box, self.parameters.form
        self.edited_label = self.parameters.edited_label

        choices = QFormLayout()
        choices.addRow("Recording", self.recording_box)
        choices.addRow("Step", self.step_box)
        choices.addRow("Input", self.input_box)
        choices.addRow("Parameters", self.params_box)

        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Compute the result and show it as layers; store nothing")
        self.preview_button.clicked.connect(self.preview)
        self.commit_button = QPushButton("Commit")
        self.commit_button.setToolTip(
            "Compute and store the result through populate (what populate would store)"
        )
        self.commit_button.clicked.connect(self.commit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.commit_button, self.cancel_button):
            buttons.addWidget(button)

        self.run_progress = StepProgress()
        self.progress_bar, self.stage_label = self.run_progress.bar, self.run_progress.stage
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(choices)
        layout.addWidget(self.parameters, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.run_progress)
        layout.addWidget(self.message)

        self.viewer.layers.events.inserted.connect(self._layers_changed)
        self.viewer.layers.events.removed.connect(self._layers_changed)
        self.viewer.layers.selection.events.active.connect(self._active_changed)
        self._layers_changed()
        self._set_busy(False)

    # -- state -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while choices load or a preview/commit runs."""
        return self._pool.busy or self._choices.busy

    @property
    def step(self) -> browse.ProcessStep | None:
        """The chosen step on the recording's pipeline (None until its choices loaded)."""
        return self._step

    def _step_name(self) -> str:
        return self.step_box.currentData() or "motion"

    @property
    def recording(self) -> dict | None:
        return chosen_recording(self.recording_box, self.recordings)[0]

    def _schema(self) -> str | None:
        return chosen_recording(self.recording_box, self.recordings)[1]

    def _set_busy(self, _busy: bool = False) -> None:
        running = self._pool.busy
        ready = (
            not self.busy
            and self.recording is not None
            and bool(self.parameters.parameter_sets)
            and bool(self.inputs)
        )
        self.preview_button.setEnabled(ready)
        self.commit_button.setEnabled(ready)
        self.cancel_button.setEnabled(running)
        for box in (self.recording_box, self.step_box, self.input_box, self.params_box):
            box.setEnabled(not running)

    def select(self, recording: dict, step: str = "motion") -> None:
        """Choose the recording (it must be open in the viewer) and the step."""
        wanted = browse.recording_key(recording)
        for index, (key, _schema) in enumerate(self.recordings):
            if {k: str(v) for k, v in key.items()} == {k: str(v) for k, v in wanted.items()}:
                self.recording_box.setCurrentIndex(index)
                break
        else:
            raise ValueError(f"{wanted} is not open in the viewer")
        self.step_box.setCurrentIndex(self.step_box.findData(step))
        self._load_choices()

    # -- recordings in the viewer ------------------------------------------------------
    def _layers_changed(self, _event: Any = None) -> None:
        found = open_recordings(self.viewer.layers)
        if [k for k, _ in found] == [k for k, _ in self.recordings]:
            return
        current = self.recording
        self.recordings = found
        fill_recording_box(self.recording_box, found, current)
        if self.recording != current:
            self._load_choices()
        self._set_busy()

    def _active_changed(self, event: Any = None) -> None:
        layer = self.viewer.layers.selection.active
        item = layer_recording(layer) if layer is not None else None
        if item is None or self._pool.busy:
            return
        keys = [k for k, _ in self.recordings]
        if item[0] in keys and keys.index(item[0]) != self.recording_box.currentIndex():
            self.recording_box.setCurrentIndex(keys.index(item[0]))

    # -- parameter sets and inputs -----------------------------------------------------
    def _load_choices(self, _index: int = 0) -> None:
        recording, name, schema = self.recording, self._step_name(), self._schema()
        self._step = None
        self.inputs = []
        self.parameters.clear()
        self.input_box.clear()
        if recording is None:
            show_message(self.message, "Open a recording with the pipeline browser first.")
            self._set_busy()
            return

        def job() -> tuple:
            step = _step_of(schema, name)
            return (
                step,
                step.parameter_sets(),
                browse.upstream_keys(step, recording),
                step.fields(),
                step.methods(),
            )

        self._choices_request += 1
        request = self._choices_request
        self._choices.start(
            job,
            returned=lambda result: self._choices_loaded(request, result),
            errored=self._error,
            finished=self._choices_finished,
        )

    def _choices_loaded(self, request: int, result: tuple) -> None:
        if request != self._choices_request:
            return  # the recording or step changed meanwhile
        self._step, parameter_sets, self.inputs, fields, methods = result
        for key in self.inputs:
            extra = {k: v for k, v in key.items() if k not in KEY_FIELDS}
            self.input_box.addItem(", ".join(f"{k}={v}" for k, v in extra.items()) or "recording")
        if not self.inputs:
            need = self.step.upstream.__name__
            show_message(
                self.message, f"This recording has no {need} row yet: run that step first."
            )
        else:
            show_message(self.message, "")
        self.parameters.set_choices(parameter_sets, fields, methods)

    def _choices_finished(self) -> None:
        self._set_busy()
        if not self._choices.busy:
            self.choicesLoaded.emit()

    # -- running -----------------------------------------------------------------------
    def preview(self) -> None:
        """Compute the step for the chosen recording and show it as layers (stores nothing)."""
        self._run("preview")

    def commit(self) -> None:
        """Compute and store the step's result through populate."""
        self._run("commit")

    def cancel(self) -> None:
        """Stop the run between chunks; nothing it started is kept."""
        if self._pool.busy:
            self._cancel.set()
            self.stage_label.setText("Cancelling…")

    def _run(self, action: str) -> None:
        step, recording = self.step, self.recording
        base = self.parameters.base()
        index = self.input_box.currentIndex()
        if step is None or recording is None or base is None or not 0 <= index < len(self.inputs):
            return
        upstream = self.inputs[index]
        try:
            params = self.form.params()
            edited = self.parameters.is_edited(base)
        except ValueError as err:
            self._error(err)
            return
        method = self.form.method()
        values = {"method": method} if method is not None else {}

        def call() -> tuple:
            chosen = (
                browse.ensure_parameter_set(step.params(), params, base, **values)
                if edited
                else base
            )
            key = browse.process_key(step, upstream, chosen)
            if action == "preview":
                result = browse.preview(step, key)
                return action, result, browse.preview_layers(result, step.pipeline.database)
            stored = browse.commit(step, key)
            return action, stored, browse.committed_layers(step, stored)

        self._cancel = threading.Event()
        self.run_progress.start(step.title)
        show_message(self.message, "")
        self._pool.start(
            _with_progress,
            call,
            self._cancel.is_set,
            yielded=self._progress,
            returned=self._finished,
            errored=self._error,
            finished=self._close_progress,
        )

    def _progress(self, report: Progress) -> None:
        self.run_progress.report(report)
        self.progressed.emit(report)

    def _close_progress(self) -> None:
        self.run_progress.close_run()
        self._set_busy()
        outcome, self._outcome = self._outcome, None
        if outcome is not None:
            signal, value = outcome
            signal.emit(value)

    def _finished(self, result: tuple) -> None:
        action, value, layer_data = result
        self._remove_preview_layers()
        layers = self._add_layers(layer_data)
        if action == "preview":
            self._preview_layers = layers
            self.last_preview = value
            self.run_progress.finish("Preview ready (not stored)")
            show_message(self.message, f"Preview: {value.summary()}")
            self._outcome = (self.previewed, value)
        else:
            self.run_progress.finish("Committed")
            stored = browse.describe_key(value)
            show_message(self.message, f"Stored {self.step.target.__name__} {stored}")
            self._load_choices()
            self._outcome = (self.committed, value)
            pipeline_changes().changed.emit(self._schema() or "", self)

    def _error(self, error: BaseException) -> None:
        from ..storage import Cancelled

        if isinstance(error, Cancelled):
            text = "Cancelled: nothing was stored."
            self.stage_label.setText("Cancelled")
            show_message(self.message, text)
        elif isinstance(error, browse.AlreadyStored):
            text = f"{readable(error)} (choose other parameters)"
            self.stage_label.setText("Already stored")
            show_message(self.message, text, error=True)
        else:
            text = readable(error)
            self.stage_label.setText("Failed")
            show_message(self.message, text, error=True, notify=True)
        if self._pool.busy:
            self._outcome = (self.failed, text)  # emitted once the run has ended
        else:
            self.failed.emit(text)

    # -- layers ------------------------------------------------------------------------
    def _add_layers(self, layer_data: list) -> list:
        from napari.layers import Layer

        return [
            self.viewer.add_layer(Layer.create(data, kwargs, layer_type))
            for data, kwargs, layer_type in layer_data
        ]

    def _remove_preview_layers(self) -> None:
        for layer in self._preview_layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self._preview_layers = []

