"""Run a populate in a helper thread of this process and yield its events, generator-style.

Used by :func:`~._jobs.run_populate` with ``separate_process=False`` (tests, scripts, a
user interface on a system without POSIX processes).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._key_steps import populate_in_thread
from ._protocol import PopulateEvent, TablePlan, execute

__all__ = ["events_in_thread"]

_DONE = object()


def events_in_thread(
    pipeline: Any, plans: Sequence[TablePlan], cancel: Callable[[], bool] | None
) -> Iterator[PopulateEvent]:
    """Run :func:`~._protocol.execute` in a helper thread and yield its events.

    ``make`` reports frames through a callback; the helper thread turns each callback into
    an event and waits until the consumer asks for the next one, so the work advances only
    while the generator is being iterated (as with a plain generator) and a ``cancel``
    flag set while handling an event is seen at the very next check. The database work
    stays in the helper thread, so the consumer may live in any thread (a napari generator
    worker). Closing the generator early cancels the run and waits until the key being
    made has rolled back.
    """
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    resume = threading.Semaphore(0)
    abandoned = threading.Event()

    def stop() -> bool:
        return abandoned.is_set() or bool(cancel is not None and cancel())

    def emit(event: PopulateEvent) -> None:
        if abandoned.is_set():
            return
        inbox.put(event)
        resume.acquire()  # until the consumer asks for the next event (or goes away)

    def work() -> None:
        try:
            execute(pipeline, plans, emit, stop, populate_in_thread)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            inbox.put(exc)
        finally:
            inbox.put(_DONE)

    helper = threading.Thread(target=work, name="napari-photon-populate", daemon=True)
    helper.start()
    try:
        while True:
            item = inbox.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
            resume.release()
    finally:
        abandoned.set()
        resume.release()  # wake the helper if it waits in emit
        helper.join()
