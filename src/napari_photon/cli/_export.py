"""``napari-photon export nwb``: recordings and their results as NWB files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._options import add_key_arguments, select_or_report


def add_parser(subparsers: Any) -> None:
    export = subparsers.add_parser("export", help="write recordings in another format")
    formats = export.add_subparsers(dest="format", metavar="FORMAT", required=True)
    nwb = formats.add_parser(
        "nwb",
        help="one NWB file per recording: movie, ROIs, traces, motion",
        description="Write each selected recording as an NWB file in OUT: subject and "
        "session, the movie as a TwoPhotonSeries streamed from its store (chunked, gzip), "
        "the ROIs as PlaneSegmentations with their metrics, the traces as RoiResponseSeries "
        "(F, neuropil, dF/F) and the motion shifts.",
    )
    nwb.add_argument("--schema", default=None, help="pipeline schema")
    nwb.add_argument("--units", choices=("photons", "levels"), default="photons",
                     help="the movie in photon counts (default) or digitizer levels")
    add_key_arguments(nwb)
    nwb.add_argument("out", type=Path, metavar="OUT", help="folder for the .nwb files")
    nwb.set_defaults(func=run_nwb)


def file_name(key: dict) -> str:
    """``mouse<id>_<date>_rec<n>.nwb``."""
    return f"mouse{key['mouse_id']}_{key['session_date']}_rec{key['recording_num']}.nwb"


def run_nwb(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..interop import NwbExportError, export_recording

    selection = select_or_report(args)
    if selection is None:
        return 2
    chosen = selection.pipeline
    recordings = []
    for table in (chosen.Recording, chosen.VolumeRecording):
        rows = selection.rows(table)
        recordings += [] if rows is None else rows.keys(order_by="KEY")
    recordings.sort(key=lambda k: (k["mouse_id"], str(k["session_date"]), k["recording_num"]))
    if not recordings:
        print("no recordings match")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for key in recordings:
        path = args.out / file_name(key)
        with tqdm(desc=path.name, unit="frame", leave=False) as bar:
            def progress(done: int, total: int, bar: Any = bar) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                export_recording(chosen, key, path, units=args.units, progress=progress)
            except NwbExportError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
        print(f"{path}", flush=True)
    print(f"{len(recordings)} file(s) written")
    return 0
