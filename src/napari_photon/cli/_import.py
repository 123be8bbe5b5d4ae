"""``napari-photon import suite2p | caiman``: existing results into the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._options import add_key_arguments, select_or_report
from ._progress import terminal_progress


def add_parser(subparsers: Any) -> None:
    command = subparsers.add_parser("import", help="bring existing results into the pipeline")
    tools = command.add_subparsers(dest="tool", metavar="TOOL", required=True)
    suite2p = tools.add_parser(
        "suite2p",
        help="a suite2p plane folder as a recording's MotionCorrected, ROI and Curation",
        description="Import suite2p's registered movie (data.bin) as a MotionCorrected entry "
        "and its ROIs (stat.npy) as an ROI entry, both under parameter sets of method "
        "'imported' that record the folder, and iscell.npy as a curation. The keys must "
        "select exactly one Recording: the movie suite2p registered. Traces are then made "
        "by `napari-photon populate`.",
    )
    suite2p.add_argument("folder", type=Path, metavar="FOLDER", help="suite2p's plane folder")
    suite2p.add_argument("--schema", default=None, help="pipeline schema")
    add_key_arguments(suite2p)
    suite2p.set_defaults(func=run_suite2p)
    caiman = tools.add_parser(
        "caiman",
        help="CaImAn's CNMF results and memmap as a recording's MotionCorrected, ROI and "
        "Curation",
        description="Import CaImAn's registered movie (the .mmap its CNMF file names, or "
        "--movie) as a MotionCorrected entry and its components (estimates/A) as an ROI "
        "entry, both under parameter sets of method 'imported' that record the file, and "
        "its evaluation (estimates/idx_components) as a curation. CaImAn's files hold no "
        "shifts: give np.save(f, mc.shifts_rig) as --shifts, or they are recorded as NaN. "
        "The keys must select exactly one Recording: the movie CaImAn registered. Traces "
        "are then made by `napari-photon populate`.",
    )
    caiman.add_argument("file", type=Path, metavar="FILE", help="the HDF5 cnm.save wrote")
    caiman.add_argument("--schema", default=None, help="pipeline schema")
    caiman.add_argument("--movie", type=Path, default=None,
                        help="CaImAn's registered movie (.mmap); default FILE's mmap_file")
    caiman.add_argument("--shifts", type=Path, default=None,
                        help=".npy of (frames, 2) (row, column) shifts, as mc.shifts_rig")
    add_key_arguments(caiman)
    caiman.set_defaults(func=run_caiman)


def run_suite2p(args: argparse.Namespace) -> int:
    from ..pipeline._import_suite2p import Suite2pImportError, import_suite2p

    return _run(args, Suite2pImportError,
                lambda chosen, key: import_suite2p(chosen, args.folder, key))


def run_caiman(args: argparse.Namespace) -> int:
    from ..pipeline._import_caiman import CaimanImportError, import_caiman

    return _run(args, CaimanImportError, lambda chosen, key: import_caiman(
        chosen, args.file, key, movie=args.movie, shifts=args.shifts))


def _run(args: argparse.Namespace, refusal: type[Exception],
         do_import: Callable[[Any, dict], dict]) -> int:
    selection = select_or_report(args)
    if selection is None:
        return 2
    chosen = selection.pipeline
    rows = selection.rows(chosen.Recording) if selection.keys else None
    if rows is None or len(rows) != 1:
        found = 0 if rows is None else len(rows)
        print(f"error: the keys select {found} recordings; give attribute=value pairs that "
              "select exactly one (mouse_id, session_date, recording_num)", file=sys.stderr)
        return 2
    try:
        with terminal_progress():
            made = do_import(chosen, rows.keys()[0])
    except refusal as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, key in made.items():
        if key is not None:
            print(f"{name:<10} {' '.join(f'{k}={v}' for k, v in key.items())}")
    return 0
