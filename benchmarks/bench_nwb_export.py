#!/usr/bin/env python
"""NWB export: peak memory and speed against the movie's size (issue 16).

Run from the repository root::

    .venv/bin/python benchmarks/bench_nwb_export.py                       # 1000 and 4000 frames
    .venv/bin/python benchmarks/bench_nwb_export.py --frames 1000 10000   # up to 10 GB

A fresh home with its embedded PostgreSQL server; for each ``--frames`` a recording of
that many 512 x 512 frames (Poisson photons, written to a TIFF block by block and imported
with ``populate``, untimed). Then ``napari-photon export nwb`` runs in a child process of
its own, which reports its peak resident memory (``ru_maxrss``) and the export's seconds.
The figure that matters is the peak memory against the float32 size of the movie: a
streaming export keeps it flat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import header, table  # noqa: E402

_CHILD = """
import json, resource, sys, time
from napari_photon import pipeline
from napari_photon.interop import export_recording
lab = pipeline.activate(sys.argv[1])
key = lab.Recording.keys()[0]
t = time.perf_counter()
export_recording(lab, key, sys.argv[2])
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def _make_recording(schema: str, frames: int, size: int, mouse: int) -> None:
    import numpy as np
    import tifffile

    from napari_photon import pipeline

    lab = pipeline.activate(schema)
    lab.Mouse.insert1({"mouse_id": mouse, "strain": "C57BL/6J", "sex": "M",
                       "date_of_birth": "2026-08-01"})
    key = {"mouse_id": mouse, "session_date": "2026-11-25"}
    lab.Session.insert1({**key, "experimenter": "bench", "notes": "nwb export"})
    folder = lab.session_folder(key)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    def frames_of_photons():
        for t0 in range(0, frames, 100):
            n = min(100, frames - t0)
            yield from rng.poisson(3.0, size=(n, size, size)).astype(np.uint16)

    tifffile.imwrite(folder / "a.tif", frames_of_photons(), shape=(frames, size, size),
                     dtype=np.uint16, bigtiff=True, metadata={"axes": "TYX"})
    [result] = lab.populate(key, tables=("Recording",))
    if result.done != 1:
        raise RuntimeError(f"the recording was not imported: {result}")


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args(argv)
    header("NWB export memory")
    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-nwb-"))
    os.chmod(home, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env["NAPARI_PHOTON_HOME"] = str(home)
    os.environ.update(NAPARI_PHOTON_HOME=str(home))
    rows, results = [], []
    try:
        for mouse, frames in enumerate(args.frames, 1):
            schema = f"bench_nwb_{frames}"
            t = time.perf_counter()
            _make_recording(schema, frames, args.size, mouse)
            print(f"  {frames} frames imported in {time.perf_counter() - t:.0f} s", flush=True)
            out = home / f"{schema}.nwb"
            done = subprocess.run([sys.executable, "-c", _CHILD, schema, str(out)], env=env,
                                  capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the export failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            movie_bytes = frames * args.size * args.size * 4
            result.update(frames=frames, movie_bytes=movie_bytes, file_bytes=out.stat().st_size)
            results.append(result)
            rows.append([frames, f"{movie_bytes / 2**30:.2f} GiB",
                         f"{result['file_bytes'] / 2**30:.2f} GiB",
                         f"{result['seconds']:.1f} s",
                         f"{movie_bytes / 2**20 / result['seconds']:.0f} MiB/s",
                         f"{result['peak_rss'] / 2**20:.0f} MiB"])
            out.unlink()
    finally:
        from napari_photon.db import EmbeddedPostgres

        EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)
    print(table(rows, ["frames", "movie (float32)", "NWB file", "export", "rate",
                       "peak memory"]))
    print(f"peak memory of the whole export process (imports included); children: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB at most")
    return results


if __name__ == "__main__":
    main()
