"""The Populate dock: counts per table, one-click populate with progress, cancel, retry.

The widget holds no science and no SQL: it shows what ``napari_photon.pipeline``'s job
model reports (:func:`~napari_photon.pipeline.job_counts`,
:func:`~napari_photon.pipeline.failed_keys`) and runs
:func:`~napari_photon.pipeline.run_populate` /
:func:`~napari_photon.pipeline.retry_failed` in a napari generator worker, so the user
interface never waits for the database or a ``make``. The keys are made in a child
process (``separate_process=True``) at a lower priority (``niceness``), so the computations
neither hold the viewer's interpreter lock nor take the processors from it; the worker
thread only relays the child's events.

Every database access of the dock happens in a worker thread, one at a time (the
pipeline's DataJoint connection is shared): while a run goes on, the counts are updated
from the run's events and reloaded when it ends.

Why this file is past 400 lines: the counts, bars and failures are sub-widgets of their
own (``_populate_counts``, ``_populate_progress``, ``_populate_failures``); what stays here
is one state machine -- a refresh or a run in flight, its events shown in timed batches,
napari's activity bar synced between them, re-entrant deliveries deferred -- whose timing
was measured as a whole against the 100 ms user-interface target
(``docs/viewer-performance.md``). Splitting it would spread that machine over two files.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any

import napari.viewer
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_photon import pipeline

from ._animations import AnimationHold
from ._changes import pipeline_changes
from ._populate_counts import CountsTable
from ._populate_failures import FailuresList
from ._populate_progress import RunProgress
from ._worker import relay_runtime_errors

#: ms between two updates of the dock and of napari's activity bar during a run
UPDATE_MS = 250

EventSource = Callable[[Callable[[], bool]], Iterator["pipeline.PopulateEvent"]]


def _load_state(chosen: pipeline.Pipeline | None) -> tuple[str, list, list]:
    """Worker thread: schema name, counts per table and failed keys."""
    if chosen is None:
        raise _NotConnected()
    return chosen.database, chosen.job_counts(), chosen.failed_keys()


def _run_events(
    source: EventSource, cancel: Callable[[], bool]
) -> Generator[pipeline.PopulateEvent, None, None]:
    """Worker thread (napari generator worker): relay the run's events."""
    yield from relay_runtime_errors(source(cancel))


_COMPUTED_NAMES = pipeline.COMPUTED_NAMES


def _last_activated() -> pipeline.Pipeline | None:
    return pipeline.active() if pipeline.is_activated() else None


class _NotConnected(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "No pipeline is connected: connect in the Pipeline browser dock (or call "
            "napari_photon.pipeline.activate()), then click Refresh."
        )


def _line() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


class PopulateDock(QWidget):
    """Populate the pipeline's Imported and Computed tables from napari.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer the dock belongs to (napari passes it).
    pipeline : napari_photon.pipeline.Pipeline, optional
        The pipeline to populate. Default: the one the pipeline browser opens (the dock
        follows it), or else the one activated last in this process.

    Attributes
    ----------
    pipeline : Pipeline or None
        The pipeline the dock works on (see :meth:`set_pipeline`).
    separate_process : bool
        Make keys in a child process (the default on POSIX systems; see
        :func:`napari_photon.pipeline.run_populate`). False makes them in a thread of the
        viewer's process, which starts faster but competes with the viewer for the
        interpreter lock.
    niceness : int
        Added to the child process's nice value (default 19, the lowest priority): the
        viewer's process, painting included, is scheduled first when both want the
        processors; alone on the machine, the child runs at full speed.

    Signals
    -------
    refreshed()
        Counts and failed keys were reloaded from the database (the dock is idle again).
    refresh_failed(str)
        Reloading failed (not connected, database error); the message is also shown.
    run_finished(object)
        A run ended: its last :class:`~napari_photon.pipeline.PopulateEvent`
        (``kind == "run-finished"``, ``cancelled`` telling whether it was cancelled), or
        ``None`` when the run stopped on an unexpected error (shown in the dock and as a
        napari notification).
    event_received(object)
        Every :class:`~napari_photon.pipeline.PopulateEvent` of a run, in the GUI thread.
    """

    refreshed = Signal()
    refresh_failed = Signal(str)
    run_finished = Signal(object)
    event_received = Signal(object)

    def __init__(
        self,
        napari_viewer: napari.viewer.Viewer,
        pipeline: pipeline.Pipeline | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.setObjectName("napari_photon_populate")
        self.pipeline = pipeline if pipeline is not None else _last_activated()
        tables = _COMPUTED_NAMES

        self.status = QLabel("Loading...", self)
        self.status.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Reload the counts and failed keys from the database")
        self.counts = CountsTable(tables, self)
        self.populate_all_button = QPushButton("Populate all", self)
        self.populate_all_button.setToolTip(
            "Populate every table in dependency order: " + " \u2192 ".join(tables)
        )
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip(
            "Stop at the next chunk of frames; the key being made keeps no row and no data"
        )
        self.cancel_button.setEnabled(False)
        self.progress = RunProgress(self)
        self.failures = FailuresList(self)

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.addWidget(self.populate_all_button, 1)
        actions.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addLayout(actions)
        layout.addWidget(_line())
        layout.addWidget(self.progress)
        layout.addWidget(_line())
        layout.addWidget(self.failures, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.counts.populate_requested.connect(lambda table: self.populate((table,)))
        self.populate_all_button.clicked.connect(lambda: self.populate(()))
        self.cancel_button.clicked.connect(self.cancel)
        self.failures.retry_requested.connect(self.retry)

        self.separate_process = os.name == "posix"
        self.niceness = 19
        self._worker: Any = None  # the one worker in flight (a refresh or a run)
        self._schema_name = ""
        pipeline_changes().changed.connect(self._on_pipeline_changed)
        pipeline_changes().opened.connect(self.set_pipeline)
        self._running = False
        self._cancel = threading.Event()
        self._last_event: pipeline.PopulateEvent | None = None
        self._pending: deque[pipeline.PopulateEvent] = deque()
        self._handling = False
        # a run's events are shown in batches, UPDATE_MS apart: each change napari's
        # activity bar makes repaints the whole window (see RunProgress.sync_activity)
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(UPDATE_MS)
        self._batch_timer.timeout.connect(self._show_pending)
        self._animations: AnimationHold | None = None
        self._loaded = False
        self.last_error: str | None = None  # why the last refresh failed
        self._set_busy(False)
        QTimer.singleShot(0, self.refresh)

    # -- state ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a refresh or a run is in flight."""
        return self._worker is not None

    @property
    def loaded(self) -> bool:
        """True when the last refresh loaded the counts (False while one is in flight)."""
        return self._loaded

    @property
    def running(self) -> bool:
        """True while a populate run is in flight."""
        return self._running

    def _set_busy(self, busy: bool) -> None:
        idle = not busy
        self.refresh_button.setEnabled(idle)
        self.populate_all_button.setEnabled(idle)
        self.counts.set_buttons_enabled(idle)
        self.failures.set_retry_enabled(idle)
        self.cancel_button.setEnabled(self._running)

    def showEvent(self, event: Any) -> None:
        """Reload when the dock becomes visible (e.g. after connecting in the browser)."""
        super().showEvent(event)
        QTimer.singleShot(0, self.refresh)

    def set_pipeline(self, chosen: pipeline.Pipeline) -> None:
        """Work on ``chosen`` from now on (the browser calls this when it opens one); a run
        in flight finishes on the pipeline it started on."""
        if chosen is self.pipeline:
            return
        self.pipeline = chosen
        self.refresh()

    # -- refresh --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload counts and failed keys in a worker thread (ignored while busy)."""
        if self.busy:
            return
        self._loaded = False
        self.last_error = None
        worker = create_worker(
            _load_state, self.pipeline, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(self._on_state)
        worker.errored.connect(self._on_refresh_error)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self._set_busy(True)
        worker.start()

    def _on_state(self, state: tuple[str, list, list]) -> None:
        schema, counts, failures = state
        self._schema_name = schema
        for table_counts in counts:
            self.counts.set_counts(table_counts)
        self.failures.set_failures(failures)
        todo = sum(c.pending for c in counts)
        self.status.setText(
            f"Schema <b>{schema}</b>: {todo} key{'s' if todo != 1 else ''} to populate, "
            f"{len(failures)} failed"
        )
        self._loaded = True

    def _on_refresh_error(self, error: BaseException) -> None:
        self.last_error = str(error)
        self.status.setText(str(error) if isinstance(error, _NotConnected) else f"Error: {error}")
        if not isinstance(error, _NotConnected):
            show_error(f"Populate dock: could not read the pipeline: {error}")

    def _on_worker_finished(self) -> None:
        self._worker = None
        self._set_busy(False)
        if self._loaded:
            self.refreshed.emit()
        elif self.last_error is not None:
            self.refresh_failed.emit(self.last_error)

    # -- runs -----------------------------------------------------------------------------

    def populate(self, tables: tuple[str, ...] = ()) -> None:
        """Populate ``tables`` (names; all tables when empty) in a generator worker."""
        title = "Populate all tables" if not tables else f"Populate {', '.join(tables)}"
        chosen = self.pipeline
        self._start_run(
            title, lambda cancel: chosen.run_populate(tables=tables, **self._how(cancel))
        )

    def retry(self, failures: list) -> None:
        """Clear the errors of ``failures`` (:class:`FailedKey` list) and populate them."""
        n = len(failures)
        title = f"Retry {n} failed key{'s' if n != 1 else ''}"
        chosen = self.pipeline
        self._start_run(
            title, lambda cancel: chosen.retry_failed(failures, **self._how(cancel))
        )

    def _how(self, cancel: Callable[[], bool]) -> dict[str, Any]:
        """Keyword arguments of a run: its cancel check and where the keys are made."""
        return {
            "cancel": cancel,
            "separate_process": self.separate_process,
            "niceness": self.niceness,
        }

    def cancel(self) -> None:
        """Ask the run to stop at its next chunk of frames."""
        if self._running:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.progress.run_label.setText("Cancelling at the next chunk...")

    def _start_run(self, title: str, source: EventSource) -> None:
        if self.busy:
            return
        if self.pipeline is None:
            self.status.setText(str(_NotConnected()))
            return
        self._cancel = threading.Event()
        self._last_event = None
        self.progress.start(title)
        flag, activity = self._cancel, self.progress.cancel_requested

        def cancel() -> bool:  # polled in the populate thread
            return flag.is_set() or activity()

        worker = create_worker(
            _run_events, source, cancel, _start_thread=False, _ignore_errors=True
        )
        worker.yielded.connect(self._on_event)
        worker.errored.connect(self._on_run_error)
        worker.finished.connect(self._on_run_finished)
        self._worker = worker
        self._running = True
        self._animations = AnimationHold(self.window())
        self._animations.hold()
        self._set_busy(True)
        self.status.setText(f"{title}...")
        worker.start()

    def _on_event(self, event: pipeline.PopulateEvent) -> None:
        """Queue one event of the run; the queue is shown at the next batch."""
        self._pending.append(event)
        self._schedule_batch()

    def _schedule_batch(self) -> None:
        """Start the batch timer when events wait and no batch is being shown."""
        if self._pending and not self._handling and not self._batch_timer.isActive():
            self._batch_timer.start()

    def _show_pending(self) -> None:
        """Show the queued events in order; napari's bar follows half a period later.

        Updating napari's activity panel processes pending Qt events, which may deliver
        the run's next events inside it: they are queued for the next batch.
        """
        if self._handling:
            return
        self._handling = True
        # a QProgressBar repaints itself at once when its text changes, and every repaint
        # composes the whole window: with the bars' updates off, the batch is painted
        # once, later. Only the bars' widget: turning updates back on repaints all of it
        self.progress.setUpdatesEnabled(False)
        try:
            while self._pending:
                self._handle_event(self._pending.popleft())
        finally:
            self.progress.setUpdatesEnabled(True)
            self._handling = False
        # napari's bar in a turn of the event loop of its own: its repaints do not add up
        # with the dock's in one stretch of the user-interface thread
        QTimer.singleShot(UPDATE_MS // 2, self._sync_activity)
        if self._animations is not None:
            self._animations.hold()  # napari's indicator starts with its first bar
        self._schedule_batch()

    def _handle_event(self, event: pipeline.PopulateEvent) -> None:
        self.progress.show_event(event)
        if event.kind == "key-finished":
            self.counts.key_finished(event.table, event.status)
            if event.status == "error":
                self.failures.add(
                    pipeline.FailedKey(event.table, dict(event.key or {}), event.error or "")
                )
        elif event.kind == "table-finished" and event.counts is not None:
            self.counts.set_counts(event.counts)
        elif event.kind == "run-finished":
            self._last_event = event
        self.event_received.emit(event)

    def _sync_activity(self) -> None:
        if self._handling:  # napari's bar delivered events inside a batch: next time
            return
        self._handling = True
        try:
            self.progress.sync_activity()
        finally:
            self._handling = False
        self._schedule_batch()

    def _on_run_error(self, error: BaseException) -> None:
        if self._handling:
            QTimer.singleShot(0, lambda: self._on_run_error(error))
            return
        self._batch_timer.stop()
        self._show_pending()
        self._last_event = None
        self.progress.finish(f"Stopped by an error: {error}")
        show_error(f"Populate stopped by an error: {error}")

    def _on_run_finished(self) -> None:
        if self._handling:  # delivered while an event is handled: after it, and the rest
            QTimer.singleShot(0, self._on_run_finished)
            return
        self._batch_timer.stop()
        self._show_pending()
        last = self._last_event
        if last is not None:
            made = f"{last.n_done} key{'s' if last.n_done != 1 else ''} made"
            failed = f", {last.n_errors} failed" if last.n_errors else ""
            if last.cancelled:
                text = f"Cancelled after {made}{failed}; the key in progress was rolled back."
            else:
                text = f"Finished: {made}{failed}."
            self.progress.finish(text)
            show_info(f"Populate: {text}")
        if self._animations is not None:
            self._animations.release()
            self._animations = None
        self._running = False
        self._worker = None
        self._set_busy(False)
        self.run_finished.emit(last)
        self.refresh()
        if last is not None and last.n_done:
            pipeline_changes().changed.emit(self._schema_name, self)

    def _on_pipeline_changed(self, schema: str, origin: object) -> None:
        """Another dock stored rows: reload the counts (when idle and showing that schema)."""
        if origin is not self and self._loaded and schema in ("", self._schema_name):
            self.refresh()
