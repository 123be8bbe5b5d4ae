"""Options several commands share."""

from __future__ import annotations

import argparse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive whole number")
    return value


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: what :func:`napari_photon._threads.limit_threads` caps."""
    parser.add_argument(
        "--threads", type=_positive_int, default=None, metavar="N",
        help="threads this process may use (default: NAPARI_PHOTON_THREADS, OMP_NUM_THREADS, "
        "SLURM_CPUS_PER_TASK, else the CPUs it may run on)",
    )


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS``: a dask.distributed scheduler for the chunks of each key."""
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="send the chunks inside each key to this dask.distributed scheduler "
        "(e.g. tcp://host:8786); default: threads in this process",
    )
