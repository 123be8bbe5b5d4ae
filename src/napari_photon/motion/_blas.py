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
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

_controller = None


def single_threaded_blas() -> AbstractContextManager:
    """Context in which BLAS uses one thread (process-wide while it is active).

    One ``ThreadpoolController`` serves every call: creating one lists the loaded
    libraries (``dl_iterate_phdr``), about 1 % of a registration's time when done per block.
    """
    global _controller
    if ThreadpoolController is None:
        return nullcontext()
    if _controller is None:  # late enough that numpy's and scipy's BLAS are loaded
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
