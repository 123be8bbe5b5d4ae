#!/usr/bin/env python
"""Benchmark the curation model (issue 13): sparse ROIs against dense (n, h, w) masks.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_curation_model.py
    ... benchmarks/bench_curation_model.py --sizes 2000 --repeats 5 --no-dense

For each size (default 2,000 and 10,000 ROIs on a 512 x 512 frame: disks of radius 3-6
at random places, so they overlap as dense detections do) it prints the median time of
each operation of :mod:`napari_photon.curation`, and beside it, measured in the same run,
the same operation done with numpy on a dense ``(n, h, w)`` bool stack (the baseline the
model avoids), with the ratio dense / sparse. Budgets of the GUI that will use the model:
merge, split and undo <= 200 ms, selection <= 100 ms. No figure is a pass/fail.

Operations
----------
merge
    ``merge(set, [i, j])`` of two neighbouring ROIs, with the new ROI's metrics measured
    on the summary images. Dense: a new stack without ``j`` and with ``i | j`` at ``i`` (a
    new array, so the previous state stays for undo).
split (line), split (correlation)
    ``split_by_line`` through the ROI's centre; ``split_by_correlation`` on the
    correlation image (Otsu, seeds, watershed). Dense: a new stack with the ROI replaced by
    one part and the other appended.
session merge + draft
    ``CurationSession.merge`` with a draft path: the action plus the draft written
    atomically (fsync included), what one GUI action costs.
undo, undo + draft
    ``CurationSession.undo`` without and with the draft save. Dense: copying a saved
    snapshot stack back (an in-place dense editor's undo; the snapshot itself costs a
    full stack of memory per action).
label_image
    Building the label image of a new state (the first view after an action). Dense:
    each mask painted over the earlier ones.
roi_at (first), roi_at (cached)
    The ROI under a click on a new state (builds the label image) and on a state already
    shown (cached). Dense: the highest ``masks[:, y, x]``.
set_label
    Relabelling 10 selected ROIs. Dense: not applicable (labels live beside the masks).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import header, load, machine, table  # noqa: E402

from napari_photon import curation as C  # noqa: E402
from napari_photon.rois import SummaryImages  # noqa: E402

SHAPE = (512, 512)


def build(n: int, seed: int = 0) -> tuple[C.RoiSet, np.ndarray]:
    """A set of n random disks with summary images, and the disk centres."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[-6:7, -6:7]
    centres = rng.integers(8, SHAPE[0] - 8, (n, 2))
    radii = rng.uniform(3, 6, n)
    pixels = [np.unique((cy + yy[yy**2 + xx**2 <= r * r]) * SHAPE[1] + cx
                        + xx[yy**2 + xx**2 <= r * r])
              for (cy, cx), r in zip(centres, radii)]
    gy, gx = np.mgrid[:SHAPE[0], :SHAPE[1]]
    correlation = np.zeros(SHAPE, np.float32)
    for cy, cx in centres[:500]:  # some structure for the correlation split
        correlation += np.exp(-((gy - cy) ** 2 + (gx - cx) ** 2) / 8.0).astype(np.float32)
    correlation += 0.05 * rng.random(SHAPE, dtype=np.float32)
    mean = (20 + 10 * correlation).astype(np.float32)
    images = SummaryImages(mean=mean, max=2 * mean, std=np.sqrt(mean),
                           correlation=correlation, activity=correlation)
    # stored metrics, as ROI.roi_metrics would give them (measuring 10,000 ROIs here
    # would only slow the set-up); actions measure their new ROIs for real
    metrics = {name: np.zeros(n, np.float32) for name in C.metric_names(images)}
    return C.RoiSet.from_pixels(SHAPE, pixels, metrics=metrics, images=images), centres


def neighbours(centres: np.ndarray, rng: np.random.Generator, count: int) -> list[list[int]]:
    """Pairs of ROIs whose centres are close (what a curator merges)."""
    pairs = []
    while len(pairs) < count:
        i = int(rng.integers(len(centres)))
        distance = np.abs(centres - centres[i]).sum(axis=1)
        distance[i] = 10**9
        pairs.append([i, int(np.argmin(distance))])
    return pairs


def median_ms(function, arguments: list) -> float:
    times = []
    for argument in arguments:
        start = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def fresh(roiset: C.RoiSet) -> C.RoiSet:
    """The same state with nothing cached (as a state just made by an action)."""
    return roiset._derive(roiset.rois, roiset.metrics)


def sparse_figures(roiset: C.RoiSet, pairs: list, ids: list, folder: Path) -> dict:
    figures = {}
    figures["merge"] = median_ms(lambda p: C.merge(roiset, p), pairs)

    def split_line(i):
        ys, xs = roiset.coords(i)
        C.split_by_line(roiset, i, (ys.mean(), xs.mean()), (ys.mean() + 1, xs.mean() + 0.3))

    figures["split (line)"] = median_ms(split_line, ids)
    figures["split (correlation)"] = median_ms(
        lambda i: C.split_by_correlation(roiset, i), ids)

    def session_merge(pair, draft):
        session = C.CurationSession(roiset, folder / "draft.npz" if draft else None,
                                    base="bench")
        start = time.perf_counter()
        session.merge(pair)
        merged = time.perf_counter() - start
        start = time.perf_counter()
        session.undo()
        return merged, time.perf_counter() - start

    with_draft = [session_merge(p, True) for p in pairs]
    without = [session_merge(p, False) for p in pairs]
    figures["session merge + draft"] = 1e3 * statistics.median(t[0] for t in with_draft)
    figures["undo"] = 1e3 * statistics.median(t[1] for t in without)
    figures["undo + draft"] = 1e3 * statistics.median(t[1] for t in with_draft)
    figures["label_image"] = median_ms(lambda s: s.label_image(),
                                       [fresh(roiset) for _ in ids])
    figures["roi_at (first)"] = median_ms(lambda s: s.roi_at(256, 256),
                                          [fresh(roiset) for _ in ids])
    roiset.roi_at(0, 0)
    figures["roi_at (cached)"] = median_ms(lambda yx: roiset.roi_at(*yx),
                                           [(int(y), int(x)) for y, x in
                                            np.random.default_rng(1).integers(0, 512, (50, 2))])
    figures["set_label (10 ROIs)"] = median_ms(
        lambda k: C.set_label(roiset, list(range(k, k + 10)), "not cell"), ids)
    return figures


def dense_figures(roiset: C.RoiSet, pairs: list, ids: list, repeats: int) -> dict:
    masks = roiset.masks()
    figures = {}

    def merge(pair):
        i, j = sorted(pair)
        new = np.delete(masks, j, axis=0)
        new[i] = masks[i] | masks[j]
        return new

    figures["merge"] = median_ms(merge, pairs[:repeats])

    def split(i):
        ys, xs = roiset.coords(i)
        part = np.zeros(SHAPE, bool)
        part[ys[xs < xs.mean()], xs[xs < xs.mean()]] = True
        new = np.concatenate([masks, (masks[i] & ~part)[None]])
        new[i] = masks[i] & part
        return new

    figures["split (line)"] = median_ms(split, ids[:repeats])
    snapshot = masks.copy()
    figures["undo"] = median_ms(lambda _: np.copyto(masks, snapshot), range(repeats))
    del snapshot
    gc.collect()

    def label_image(_):
        image = np.zeros(SHAPE, np.int32)
        for i, mask in enumerate(masks):  # later masks painted over earlier ones
            image[mask] = i + 1
        return image

    figures["label_image"] = median_ms(label_image, range(repeats))
    clicks = [(int(y), int(x)) for y, x in np.random.default_rng(1).integers(0, 512, (50, 2))]
    figures["roi_at (cached)"] = median_ms(
        lambda yx: (np.flatnonzero(masks[:, yx[0], yx[1]])[-1:]), clicks)
    return figures


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dense-repeats", type=int, default=3)
    parser.add_argument("--no-dense", action="store_true", help="skip the dense baseline")
    args = parser.parse_args()
    header("curation model: sparse ROIs vs dense (n, h, w) masks, 512 x 512 frame")
    print(machine())
    rows, memory = [], []
    for n in args.sizes:
        start = time.perf_counter()
        roiset, centres = build(n)
        rng = np.random.default_rng(2)
        pairs = neighbours(centres, rng, args.repeats)
        ids = [int(i) for i in rng.integers(0, n, args.repeats)]
        print(f"\nn = {n}: set built in {time.perf_counter() - start:.1f} s, "
              f"{sum(r.pixels.nbytes for r in roiset) / 1e6:.1f} MB of pixel indices; "
              f"{load()}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            sparse = sparse_figures(roiset, pairs, ids, Path(folder))
        merged = C.merge(roiset, pairs[0])
        memory.append(f"n = {n}: an undo state costs {merged.rois[pairs[0][0]].pixels.nbytes} "
                      f"bytes of new pixels after a merge (the other ROIs are shared) and a "
                      f"{len(roiset) * 8 / 1e3:.0f} kB tuple of references; a dense stack is "
                      f"{len(roiset) * SHAPE[0] * SHAPE[1] / 1e6:.0f} MB per state")
        dense = {} if args.no_dense else dense_figures(roiset, pairs, ids, args.dense_repeats)
        gc.collect()
        for name, value in sparse.items():
            base = dense.get(name)
            rows.append([f"{name} [n={n}]", _ms(value), "-" if base is None else _ms(base),
                         "-" if base is None else f"{base / value:.0f}x"])
    print()
    print(table(rows, ["operation", "sparse ms", "dense ms", "dense/sparse"]))
    print()
    print("\n".join(memory))
    print(load())


if __name__ == "__main__":
    main()
