"""Where the chunks inside one key run: threads by default, a Dask cluster when given one.

A worker started with a scheduler address (``napari-photon worker --scheduler tcp://...``)
sends the chunks of each ``make`` that can run apart (motion estimation's blocks of frames,
ROI detection's passes over the movie, the traces' projections) to that dask.distributed
cluster, while keys stay reserved one at a time in DataJoint's
jobs table. The cluster is process-wide: a worker process makes one key at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cluster_client", "using_cluster"]

_lock = threading.Lock()
_client: Any = None


def cluster_client() -> Any:
    """The dask.distributed client ``make`` methods send chunks to, or None (threads)."""
    return _client


@contextmanager
def using_cluster(scheduler: Any, *, timeout: float = 10.0) -> Iterator[Any]:
    """Send chunks to ``scheduler`` inside the block: a ``dask.distributed.Client`` (kept
    open) or a scheduler address (a client is opened and closed here). None: threads.

    Raises ValueError naming the address when no scheduler answers there within
    ``timeout`` seconds.
    """
    global _client
    if scheduler is None:
        yield None
        return
    owned = isinstance(scheduler, str)
    client = _connect(scheduler, timeout) if owned else scheduler
    with _lock:
        previous, _client = _client, client
    try:
        yield client
    finally:
        with _lock:
            _client = previous
        if owned:
            client.close()


def _connect(address: str, timeout: float) -> Any:
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - the distributed extra is missing
        raise ValueError(
            "a scheduler address needs dask.distributed: pip install 'napari-photon[distributed]'"
        ) from err
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ValueError(
            f"no Dask scheduler answered at {address!r} within {timeout:.0f} s: "
            "expected the address a running scheduler prints, e.g. tcp://host:8786"
        ) from err
