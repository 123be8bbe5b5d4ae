"""Keep BLAS single-threaded inside motion correction.

The peak refinement and QC use many small BLAS products (a frame's spectrum times a few
vectors). A threaded BLAS (OpenBLAS) wakes its thread pool for each of them, which on a busy
2-core machine made them ~5x slower than on one thread. Parallelism comes from running
blocks in threads instead. ``threadpoolctl`` is used when installed; otherwise nothing is
changed (set ``OPENBLAS_NUM_THREADS=1`` for the same effect).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

try:  # pragma: no cover - depends on the environment
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def single_threaded_blas() -> AbstractContextManager:
    """Context in which BLAS uses one thread (process-wide while it is active)."""
    if threadpool_limits is None:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
