"""Run a function over blocks of frames with Dask: threads by default, or a distributed client.

Progress is reported from the calling thread as blocks finish (a dask scheduler callback
for the threaded scheduler, ``as_completed`` for a distributed client), so callers (CLI
progress bars, napari widgets) never receive calls from worker threads.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._threads import thread_count

ProgressCallback = Callable[[int, int], None]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def thread_pool() -> ThreadPoolExecutor:
    """The process-wide pool (:func:`~napari_photon._threads.thread_count` threads) that
    splits blocks of frames."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=thread_count(),
                                       thread_name_prefix="napari-photon-motion")
        return _POOL


def blocks(n_frames: int, per: int) -> list[tuple[int, int]]:
    per = max(1, int(per))
    return [(t0, min(t0 + per, n_frames)) for t0 in range(0, n_frames, per)]


class _Reopen:
    """A picklable stand-in for a :class:`~napari_photon.storage.PhotonMovie` (or its
    photon view, ``inverse`` given): workers of a distributed cluster reopen the zarr
    themselves instead of receiving a live handle."""

    def __init__(self, movie: Any, inverse: str | None = None) -> None:
        self._location = movie.location
        self._metadata = movie.metadata
        self._inverse = inverse
        self._movie = None
        self.shape = tuple(movie.shape)
        self.dtype = np.dtype(np.float32)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_movie": None}

    def _open(self) -> Any:
        if self._movie is None:
            from .storage import PhotonMovie

            movie = PhotonMovie(self._location, self._metadata)
            self._movie = movie if self._inverse is None else movie.photons(self._inverse)
        return self._movie

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        return self._open()[index]


def for_cluster(movie: Any) -> Any:
    """Something a distributed worker can receive in place of ``movie``."""
    from .storage import PhotonCounts, PhotonMovie

    stored, inverse = (movie.movie, movie.inverse) if isinstance(movie, PhotonCounts) else (
        movie, None)
    if isinstance(stored, PhotonMovie) and getattr(stored, "_transform", None) is None:
        proxy = _Reopen(stored, inverse)
        try:
            pickle.dumps(proxy)
        except Exception:  # noqa: BLE001 - not picklable: hand over the movie itself
            return movie
        return proxy
    return movie


def run_blocks(func: Callable[..., Any], movie: Any, spans: Sequence[tuple[int, int]],
               args: tuple = (), *, progress: ProgressCallback | None = None,
               client: Any = None, workers: int | None = None) -> list[Any]:
    """``[func(movie, t0, t1, *args) for (t0, t1) in spans]``, computed by Dask.

    Parameters
    ----------
    func : callable
        Module-level function (picklable for distributed clients).
    movie : array-like
        Read inside the tasks, block by block (never whole).
    progress : callable, optional
        ``progress(frames_done, frames_total)`` after each finished block.
    client : dask.distributed.Client, optional
        Run on this cluster; default: Dask's threaded scheduler with ``workers`` threads
        (default: the number of cores).
    """
    import dask.threaded

    total = int(sum(t1 - t0 for t0, t1 in spans))
    if not spans:
        return []
    if client is not None:
        return _run_distributed(func, movie, spans, args, progress, client, total)
    from dask.callbacks import Callback

    name = f"blocks-{func.__name__}-{id(spans)}"
    keys = [(name, i) for i in range(len(spans))]
    graph: dict = {k: (func, movie, t0, t1, *args) for k, (t0, t1) in zip(keys, spans)}
    frames_of = {k: t1 - t0 for k, (t0, t1) in zip(keys, spans)}
    done = [0]

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):  # main thread
            if key in frames_of:
                done[0] += frames_of[key]
                if progress is not None:
                    progress(done[0], total)

    n_workers = workers or thread_count()
    with _Progress():
        results = dask.threaded.get(graph, keys, num_workers=n_workers)
    return list(results)


def _run_distributed(func, movie, spans, args, progress, client, total) -> list[Any]:
    from distributed import as_completed

    # hash=False: a key of its own; a content-hashed key shared with an earlier call is
    # deleted on the scheduler when that call's future is released ("lost dependencies")
    shared = client.scatter(for_cluster(movie), broadcast=True, hash=False)
    shared_args = [a if isinstance(a, (int, float, str, bool, type(None)))
                   else client.scatter(a, broadcast=True, hash=False) for a in args]
    futures = [client.submit(func, shared, t0, t1, *shared_args, pure=False)
               for t0, t1 in spans]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    done = 0
    for fut in as_completed(futures):
        i = index[fut.key]
        results[i] = fut.result()
        done += spans[i][1] - spans[i][0]
        if progress is not None:
            progress(done, total)
    return results
