"""The Process dock's run display: a bar, the stage, and napari's activity progress."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from ..browse import Progress


class StepProgress(QWidget):
    """Shows a preview's or commit's frame-level progress, in the dock and in napari's
    activity dock (a :class:`napari.utils.progress` bar while a run goes on).

    Attributes
    ----------
    bar : QProgressBar
        Busy (no range) until the first report of a run, then frames done of the stage.
    stage : QLabel
        ``"<stage>: done / total"``, or the run's outcome once it ended.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.stage = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.stage)
        self._activity: Any = None  # napari's progress of the run in flight
        self._stage_name = ""

    def start(self, title: str) -> None:
        """A run of ``title`` starts: busy bar, napari activity shown."""
        from napari.utils import progress

        self._stage_name = ""
        self._activity = progress(total=0, desc=title)
        self.bar.setRange(0, 0)
        self.stage.setText(f"{title}: starting…")

    def report(self, report: Progress) -> None:
        """Show one :class:`~napari_photon.browse.Progress` report of the run."""
        activity, new_stage = self._activity, report.stage != self._stage_name
        self._stage_name = report.stage
        if activity is not None:
            # napari's progress may process events (even this run's end) while updating
            if new_stage:
                activity.set_description(report.stage)
                activity.reset(total=report.total)
            activity.update(report.done - activity.n)
        self.bar.setRange(0, max(report.total, 1))
        self.bar.setValue(report.done)
        self.stage.setText(f"{report.stage}: {report.done} / {report.total}")

    def close_run(self) -> None:
        """The run ended: napari's activity closed, the bar no longer busy."""
        if self._activity is not None:
            self._activity.close()
            self._activity = None
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)

    def finish(self, text: str) -> None:
        """The run succeeded: full bar and ``text``."""
        self.bar.setValue(self.bar.maximum())
        self.stage.setText(text)
