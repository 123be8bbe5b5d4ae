"""The Populate dock's progress: a run bar and a stage (frames) bar, mirrored in napari's
activity panel through ``napari.utils.progress``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from napari.utils import cancelable_progress
from qtpy.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from ._populate_failures import describe_key

if TYPE_CHECKING:
    from napari_photon.pipeline import PopulateEvent

SCALE = 1000  # run bar resolution: per mille of the run
ACTIVITY_INTERVAL_S = 1.0  # napari's activity bar follows the dock's at most this often


class RunProgress(QWidget):
    """Progress of one populate run, advancing with the frames processed inside each key.

    The run bar shows the run's overall fraction (tables, keys, stages inside a key);
    the stage bar shows frames done / total of the current stage of ``make``. While the
    run lasts, napari's activity panel (bottom right of the window) shows the run bar,
    its label naming the table and stage; its Cancel button cancels the run like the
    dock's. (One bar there, not a nested pair: closing nested napari 0.9 bars crashed
    in the activity panel's ``maybe_hide_progress_indicator``.)
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_label = QLabel("Idle", self)
        self.run_label.setWordWrap(True)
        self.run_bar = QProgressBar(self)
        self.run_bar.setRange(0, SCALE)
        self.run_bar.setValue(0)
        self.run_bar.setFormat("%p%")
        self.stage_label = QLabel("", self)
        self.stage_bar = QProgressBar(self)
        self.stage_bar.setRange(0, 1)
        self.stage_bar.setValue(0)
        self.stage_bar.setFormat("%v / %m frames")
        # text changes must not move anything: a label one pixel taller moves every
        # widget below it, and the whole dock is repainted (and napari's canvas redrawn,
        # were the dock to change width)
        for label, lines in ((self.run_label, 2), (self.stage_label, 1)):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.run_label, self.run_bar, self.stage_label, self.stage_bar):
            layout.addWidget(widget)
        self._run: cancelable_progress | None = None
        self._stage_name = ""
        self._table = ""
        self.fraction = 0.0
        self.activity_final: tuple[int, int] | None = None
        self._activity_text = ""  # what napari's bar is to say at the next sync
        self._activity_synced = 0.0  # time.monotonic() of the last sync

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, title: str) -> None:
        """Reset the bars and open the activity-panel bars for a new run."""
        self.close_activity()
        self.activity_final = None
        self.fraction = 0.0
        self._stage_name = self._table = ""
        self.run_bar.setValue(0)
        # no busy (indeterminate) bars: their animation repaints the window all the time,
        # which costs a software-rendered viewer (llvmpipe) a good part of a core
        self.stage_bar.setRange(0, 1)
        self.stage_bar.setValue(0)
        self.stage_label.setText("Starting...")
        self.run_label.setText(title)
        self._title = title
        self._activity_text = title
        self._run = cancelable_progress(total=SCALE, desc=title)

    def cancel_requested(self) -> bool:
        """True once the activity panel's Cancel was clicked (safe from any thread)."""
        run = self._run
        return bool(run is not None and run.is_canceled)

    def close_activity(self) -> None:
        """Close the activity-panel bars (the dock's bars keep their last state).

        ``activity_final`` keeps the run bar's last ``(n, total)``.
        """
        if self._run is not None:
            self.sync_activity(force=True)
            self.activity_final = (int(self._run.n), int(self._run.total))
            self._run.close()
        self._run = None

    def finish(self, text: str) -> None:
        """End of the run: final text, activity-panel bars closed."""
        if self.stage_label.text() == "Starting...":  # the run ended before reporting
            self.stage_label.setText("")
        self.run_label.setText(text)
        self.close_activity()

    # -- events ---------------------------------------------------------------------------

    def sync_activity(self, force: bool = False) -> None:
        """Bring napari's activity-panel bar closer to the dock's state: at most once per
        ``ACTIVITY_INTERVAL_S`` and one change per call (its description, else its value),
        unless ``force`` (both, now: the end of a run).

        napari repaints the window inside each change of one of its bars
        (``QApplication.processEvents``, and its ``QProgressBar`` repaints itself at
        once); on a software-rendered display every repaint composes the whole window
        (20-30 ms of the user-interface thread on the 2-core test machine). The dock
        therefore changes napari's bar only here, about once a second, one change at a
        time, and names the stage there without frame counts (those are in the dock's
        stage bar).
        """
        run = self._run
        now = time.monotonic()
        if run is None or (not force and now - self._activity_synced < ACTIVITY_INTERVAL_S):
            return
        self._activity_synced = now
        if run.desc != self._activity_text:
            run.set_description(self._activity_text)
            if not force:
                return
        value = round(self.fraction * SCALE)
        if value > run.n:
            run.update(value - run.n)

    def show_event(self, event: PopulateEvent) -> None:
        """Advance the dock's bars with one event of ``pipeline.run_populate`` (napari's
        bar follows at :meth:`sync_activity`)."""
        self._set_fraction(event.fraction)
        if event.kind == "run-started":
            self.stage_bar.setRange(0, 1)
            self.stage_label.setText("")
        elif event.kind == "table-started":
            self._table = event.table
            self.run_label.setText(
                f"{event.table} (table {event.table_index + 1}/{event.n_tables}): "
                f"{event.n_keys} key{'s' if event.n_keys != 1 else ''} to make"
            )
        elif event.kind == "key-started":
            self.run_label.setText(
                f"{event.table} (table {event.table_index + 1}/{event.n_tables}), "
                f"key {event.key_index + 1}/{event.n_keys}: {describe_key(event.key or {})}"
            )
            self._stage_name = ""
            self.stage_label.setText(f"{event.table}: starting")
            self.stage_bar.setRange(0, 1)
            self.stage_bar.setValue(0)
            self._describe(f"{event.table} {event.key_index + 1}/{event.n_keys}")
        elif event.kind == "stage":
            self._set_stage(event.stage, event.done, event.total)
        elif event.kind == "key-finished" and event.status in ("done", "empty"):
            self.stage_bar.setValue(self.stage_bar.maximum())

    def _set_fraction(self, fraction: float) -> None:
        self.fraction = max(self.fraction, fraction)
        self.run_bar.setValue(round(self.fraction * SCALE))

    def _describe(self, text: str) -> None:
        self._activity_text = text

    def _set_stage(self, name: str, done: int, total: int) -> None:
        total = max(int(total), 1)
        done = min(max(int(done), 0), total)
        if name != self._stage_name:
            self._stage_name = name
            self.stage_label.setText(f"{self._table}: {name}")
            self.stage_bar.setRange(0, total)
        elif self.stage_bar.maximum() != total:
            self.stage_bar.setMaximum(total)
        self.stage_bar.setValue(done)
        self._describe(f"{self._table}: {name}")
