"""Run a pipeline call in a thread and iterate over its frame-level progress.

``make`` methods report ``(stage, done, total)`` through
:func:`napari_photon.pipeline.reporting` from deep inside one call; a napari generator
worker wants to *yield* progress. :func:`iterate_progress` bridges the two: the call runs
in a helper thread, its reports come out of the generator, and the generator returns the
call's result (or raises its exception) when it ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Progress", "iterate_progress"]

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report of a ``make`` stage."""

    stage: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else 0.0


_DONE = object()


def iterate_progress(
    call: Callable[[], T], cancel: Callable[[], bool] | None = None
) -> Generator[Progress, None, T]:
    """Run ``call()`` in a thread inside ``pipeline.reporting``; yield its progress.

    Parameters
    ----------
    call : callable
        E.g. ``lambda: commit(step, key)``.
    cancel : callable, optional
        Checked by ``make`` between chunks; when it returns True the call raises
        :class:`napari_photon.storage.Cancelled` after cleaning up.

    Yields
    ------
    Progress
        Per stage, ``done`` only grows: ``make`` may process chunks in parallel threads
        whose reports arrive out of order; a report behind an earlier one is dropped.

    Returns
    -------
    The call's result (as the generator's return value).

    Raises
    ------
    Exception
        Whatever ``call`` raised.
    """
    from .. import pipeline

    reports: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            with pipeline.reporting(
                progress=lambda stage, done, total: reports.put(Progress(stage, done, total)),
                cancel=cancel,
            ):
                outcome["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, re-raised there
            outcome["error"] = err
        finally:
            reports.put(_DONE)

    thread = threading.Thread(target=target, name="napari-photon-process", daemon=True)
    thread.start()
    best: dict[tuple[str, int], int] = {}
    try:
        while True:
            item = reports.get()
            if item is _DONE:
                break
            if item.done <= best.get((item.stage, item.total), -1):
                continue
            best[(item.stage, item.total)] = item.done
            yield item
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
