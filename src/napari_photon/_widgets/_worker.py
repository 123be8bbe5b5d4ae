"""Starting napari thread workers from a widget, and reporting their errors readably."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from qtpy.QtWidgets import QLabel

__all__ = ["WorkerError", "WorkerPool", "readable", "relay_runtime_errors", "show_message"]

_ERROR_STYLE = "color: #e0625a;"
_INFO_STYLE = ""


class WorkerError(Exception):
    """A ``RuntimeError`` raised in a generator worker, re-raised as a plain exception.

    superqt's generator workers take a ``RuntimeError`` for "the worker was deleted" and
    end without emitting ``errored`` or ``finished``; the widget would wait forever.
    """


def relay_runtime_errors(generator: Generator) -> Generator:
    """Run ``generator`` (yield from it), turning a ``RuntimeError`` into a WorkerError."""
    try:
        return (yield from generator)
    except RuntimeError as err:
        raise WorkerError(readable(err)) from err


def readable(error: BaseException) -> str:
    """One or two lines a person can act on, without a traceback."""
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:3])


def show_message(label: QLabel, text: str, *, error: bool = False, notify: bool = False) -> None:
    """Put ``text`` in ``label`` (red for errors); with ``notify``, also a napari notification.

    Errors go to :func:`napari.utils.notifications.show_error` (a toast, never a traceback
    dialog).
    """
    label.setText(text)
    label.setStyleSheet(_ERROR_STYLE if error else _INFO_STYLE)
    label.setVisible(bool(text))
    if notify and text:
        from napari.utils.notifications import show_error, show_info

        (show_error if error else show_info)(text)


class WorkerPool:
    """Keeps the widget's running workers alive and counts them.

    Parameters
    ----------
    on_busy : callable, optional
        Called with True when the first worker starts and False when the last one ends.
    """

    def __init__(self, on_busy: Callable[[bool], None] | None = None) -> None:
        self._running: set[Any] = set()
        self._on_busy = on_busy
        self._closed = False

    def close(self) -> None:
        """Forget the running workers: what they return, yield or raise from now on is
        dropped (their widget is gone) and generator workers are asked to quit."""
        self._closed = True
        for worker in list(self._running):
            if hasattr(worker, "quit"):
                worker.quit()

    def _unless_closed(self, callback: Callable[..., None]) -> Callable[..., None]:
        def call(*args: Any) -> None:
            if not self._closed:
                callback(*args)

        return call

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def start(
        self,
        func: Callable[..., Any],
        *args: Any,
        returned: Callable[[Any], None] | None = None,
        errored: Callable[[BaseException], None] | None = None,
        yielded: Callable[[Any], None] | None = None,
        finished: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``func(*args, **kwargs)`` in a napari thread worker (a generator function
        gives a generator worker whose yields reach ``yielded``).

        Errors reach ``errored`` only: they are never re-raised in the main thread.
        ``returned``/``errored`` run while the worker still counts as running; ``finished``
        runs after it was removed (and after ``on_busy(False)`` for the last one).
        """
        from napari.qt.threading import create_worker

        worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True, **kwargs)
        if returned is not None:
            worker.returned.connect(self._unless_closed(returned))
        if errored is not None:
            worker.errored.connect(self._unless_closed(errored))
        if yielded is not None and hasattr(worker, "yielded"):
            worker.yielded.connect(self._unless_closed(yielded))
        # the pool forgets the worker first, so ``finished`` sees the pool's new state
        worker.finished.connect(lambda: self._done(worker))
        if finished is not None:
            worker.finished.connect(self._unless_closed(finished))
        first = not self._running
        self._running.add(worker)
        if first and self._on_busy is not None:
            self._on_busy(True)
        worker.start()
        return worker

    def _done(self, worker: Any) -> None:
        self._running.discard(worker)
        if not self._running and self._on_busy is not None and not self._closed:
            self._on_busy(False)
