"""How many threads the package's pools may start: one setting for every pool.

``NAPARI_PHOTON_THREADS`` caps every thread pool napari-photon starts (registration's,
the store writer's encoders, dask's threaded scheduler when no client is given). Without
it the standard variables batch systems set are honoured (``OMP_NUM_THREADS``, then
``SLURM_CPUS_PER_TASK``), and without those the CPUs this process may run on (its affinity
mask, which ``taskset``, cgroups' cpusets and container limits narrow), not every core
of the machine: 16 workers on 16 cores each starting 16 threads ran registration twice as
slowly as 16 workers of one thread.
"""

from __future__ import annotations

import os

__all__ = ["THREADS_VARIABLE", "limit_threads", "thread_count"]

#: the package's own setting
THREADS_VARIABLE = "NAPARI_PHOTON_THREADS"
_STANDARD = ("OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK")


def thread_count() -> int:
    """The number of threads a pool of the package may use (at least 1).

    Raises ValueError when ``NAPARI_PHOTON_THREADS`` is set to anything but a positive
    integer; a malformed standard variable is passed over (other programs own those).
    """
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(
                f"{THREADS_VARIABLE}={value!r}: expected a positive whole number of threads"
            )
        return count
    for name in _STANDARD:
        # OMP_NUM_THREADS may list nested levels ("8,2"): the outer level counts here
        first = os.environ.get(name, "").split(",")[0].strip()
        if first.isdigit() and int(first) > 0:
            return int(first)
    return _available_cpus()


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity mask
        return max(1, os.cpu_count() or 1)


def limit_threads(count: int | None) -> None:
    """Cap this process at ``count`` threads: the package's pools (by setting
    ``NAPARI_PHOTON_THREADS``, before any pool starts) and, with threadpoolctl, the BLAS
    and OpenMP pools numpy, scipy and scikit-learn start. None changes nothing."""
    if count is None:
        return
    if int(count) < 1:
        raise ValueError(f"--threads {count}: expected a positive whole number of threads")
    os.environ[THREADS_VARIABLE] = str(int(count))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        return
    threadpool_limits(limits=int(count))
