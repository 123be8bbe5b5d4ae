"""Frame-level progress and cancellation for ``make`` methods.

``populate`` calls ``make`` once per key; a movie of thousands of frames inside one key
needs finer progress than that. A caller (the CLI's terminal bar, a napari worker) sets a
reporter; ``make`` methods report ``(stage, done, total)`` through it and stop between
chunks when it says so.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..storage import Cancelled

StageCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Reporter:
    """Where progress goes, and whether to stop."""

    progress: StageCallback | None = None
    cancel: Callable[[], bool] | None = None


_reporter: contextvars.ContextVar[Reporter] = contextvars.ContextVar(
    "napari_photon_reporter", default=Reporter()
)


@contextmanager
def reporting(
    progress: StageCallback | None = None, cancel: Callable[[], bool] | None = None
) -> Iterator[Reporter]:
    """Send frame-level progress of ``make`` methods run inside the block to ``progress``."""
    token = _reporter.set(Reporter(progress, cancel))
    try:
        yield _reporter.get()
    finally:
        _reporter.reset(token)


def stage(name: str) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback for one stage of a ``make``; raises Cancelled on request."""
    reporter = _reporter.get()

    def report(done: int, total: int) -> None:
        if reporter.progress is not None:
            reporter.progress(name, done, total)
        if reporter.cancel is not None and reporter.cancel():
            raise Cancelled(f"{name}: cancelled by the user")

    return report


def cancel_check() -> Callable[[], bool] | None:
    return _reporter.get().cancel
