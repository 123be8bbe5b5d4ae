"""The design document's code, run as a user who pasted it would, and checked against truth.

``../shared/design-document.md`` is the user's own page and the project's contract. Its
Python blocks run here in order, with only the substitutions listed in :data:`EDITS` (each
one explained in ``docs/decisions.md``): once with its ``imaging`` store on a folder, once
on a real S3 endpoint on loopback. A second test runs its usage example, unchanged, against
``napari_photon.pipeline``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import zarr_folders

from napari_photon import synthetic
from napari_photon.anscombe import generalized_anscombe, generalized_inverse_anscombe

DOCUMENT = Path(__file__).resolve().parents[2] / "shared" / "design-document.md"
SESSION = {"mouse_id": 1, "session_date": "2024-01-15"}

#: (block, text as written, text run, why): every change made to the document's code
EDITS = (
    (0, "from anscombe import", "from napari_photon.anscombe import",
     "the functions live in napari_photon (no PyPI module 'anscombe' has them)"),
    (0, """dj.config['stores'] = {
    'imaging': {
        'protocol': 's3',
        'bucket': 'calcium-imaging',
        'location': 'movies',
    }
}""", "dj.config['stores'] = TEST_STORES",
     "the test's store: a folder, or the loopback S3 endpoint with its credentials"),
    (0, "        'raw_movie': raw_movie,", "        'recording_num': 1,\n        'raw_movie': raw_movie,",
     "make inserts no recording_num, part of Recording's primary key"),
    (1, "shift_x : longblob ", "shift_x : <blob>   ",
     "longblob is raw bytes in DataJoint 2 (no such type on PostgreSQL); <blob> serializes"),
    (1, "shift_y : longblob ", "shift_y : <blob>   ", "as shift_x"),
    (2, "fluorescence : longblob ", "fluorescence : <blob>   ", "as shift_x"),
    (3, "plt.show()", "plt.savefig(PLOT_PATH)", "no screen: the plot goes to a file"),
    (4, "fetch1('raw_movie', as_dict=True)", "fetch1('raw_movie')",
     "DataJoint 2's fetch1 has no as_dict"),
    (4, "    # Calculate actual storage size...", "    compressed_size = stored.stored_nbytes",
     "the document leaves compressed_size undefined: the fetched movie's stored size"),
)


def document_blocks() -> list[str]:
    """The document's Python code blocks, in order."""
    if not DOCUMENT.is_file():
        pytest.skip(f"the design document is not at {DOCUMENT} (shared/ beside the checkout)")
    return re.findall(r"```python\n(.*?)```", DOCUMENT.read_text(encoding="utf-8"), re.S)


def edited_blocks() -> list[str]:
    """The blocks with :data:`EDITS` applied; each edit must match exactly once."""
    blocks = document_blocks()
    for index, written, run, _why in EDITS:
        assert blocks[index].count(written) == 1, f"block {index} no longer holds {written!r}"
        blocks[index] = blocks[index].replace(written, run)
    return blocks


def ground_truth(seed: int) -> synthetic.SyntheticMovie:
    """Well separated cells on an even background, which the document's thresholding of
    the mean image can find, and 4 px of motion."""
    return synthetic.make_movie(
        n_frames=200, shape=(128, 128), n_neurons=10, baseline=(10.0, 11.0), max_shift=4.0,
        neuron_radius=(6.0, 8.0), seed=seed,
    )


def check_registration(truth, shift_rows, shift_cols, *, typical: bool = False) -> None:
    """Correcting shifts are minus the true displacement, up to a constant (the reference).

    ``typical``: the document's registration (whole-pixel phase correlation of single noisy
    frames against a mean of displaced ones) misses a third or more of such a movie's
    frames by several pixels (measured); for it, the typical frame is checked.
    """
    for found, moved in ((shift_rows, truth.shifts[:, 0]), (shift_cols, truth.shifts[:, 1])):
        error = np.asarray(found) + moved
        error -= np.median(error)
        if typical:
            assert np.median(np.abs(error)) < 1.0
        else:
            assert np.sqrt(np.mean(error**2)) < 0.3


def cells_under(truth, masks) -> tuple[list[int], np.ndarray]:
    """For each mask, the true cell it overlaps most, and the part of it on that cell."""
    overlap = (truth.masks[None] & masks[:, None]).sum(axis=(2, 3))  # (masks, cells)
    cells = [int(i) for i in np.argmax(overlap, axis=1)]
    return cells, overlap.max(axis=1) / masks.sum(axis=(1, 2))


def correlations(trace, truth) -> np.ndarray:
    """Pearson r of ``trace`` with every true cell's trace (nan for a silent cell)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # a silent cell's trace is constant
        return np.array([np.corrcoef(trace, true)[0, 1] for true in truth.traces])


@pytest.fixture
def agg_backend():
    """Matplotlib draws to memory (``plt.show()`` returns at once), whatever backend an
    earlier test in this process chose (napari's tests bring Qt)."""
    import matplotlib.pyplot as plt

    previous = plt.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    plt.switch_backend(previous)


@pytest.fixture
def design_stores():
    """Restores DataJoint's stores after the document replaced them."""
    import datajoint as dj

    saved = dict(dj.config["stores"])
    yield
    dj.config["stores"] = saved


def run_document(blocks: list[str], stores: dict, tiff: Path, plot: Path) -> dict:
    """Run the blocks in one namespace, as pasted into one session; returns the namespace."""
    import datajoint as dj

    from napari_photon.io import load_tiff_stack

    dj.config.jobs.allow_new_pk_fields_in_computed_tables = True  # Recording, Trace keys
    namespace = {
        "__name__": "design_document",
        "TEST_STORES": stores,
        "PLOT_PATH": str(plot),
        "get_recording_path": lambda key: tiff,
        "load_tiff_stack": load_tiff_stack,
    }
    for block in blocks:
        exec(compile(block, str(DOCUMENT), "exec"), namespace)  # noqa: S102 - the user's code
    return namespace


@pytest.mark.parametrize("store", ["file", "s3"])
def test_design_document_code_runs_as_written(
    store, photon_home, design_stores, agg_backend, tmp_path, request
):
    import datajoint as dj

    from napari_photon.db import connect

    connection = connect()
    if store == "s3":
        import boto3

        spec = request.getfixturevalue("s3_endpoint")
        boto3.client(
            "s3", endpoint_url=f"http://{spec['endpoint']}", aws_access_key_id=spec["access_key"],
            aws_secret_access_key=spec["secret_key"], region_name="us-east-1",
        ).create_bucket(Bucket="calcium-imaging")
        stores = {"imaging": {**spec, "bucket": "calcium-imaging", "location": "movies"}}
    else:
        (tmp_path / "imaging").mkdir()
        stores = {"imaging": {"protocol": "file", "location": str(tmp_path / "imaging")}}
    dj.Schema("calcium_imaging", connection=connection).drop(prompt=False)  # a clean start

    truth = ground_truth(seed=21)
    tiff = synthetic.write_tiff(tmp_path / "recording.tif", truth.movie, frame_rate=30.0)
    blocks = edited_blocks()
    try:
        ns = run_document(blocks, stores, tiff, tmp_path / "traces.png")
        Recording, MotionCorrected, ROI, Trace = (  # noqa: N806 - the document's names
            ns[name] for name in ("Recording", "MotionCorrected", "ROI", "Trace")
        )
        assert ns["VolumeRecording"].heading.names[-3:] == ["volume_movie", "n_planes",
                                                            "plane_spacing"]
        assert (tmp_path / "traces.png").stat().st_size > 10_000
        recording = (Recording & SESSION).fetch1()
        assert recording["recording_num"] == 1 and recording["n_frames"] == 200
        movie = recording["raw_movie"]
        assert movie.store == "imaging" and 0 < movie.stored_nbytes < movie.nbytes
        stabilized = generalized_anscombe(truth.movie[:50].astype(np.float32))
        np.testing.assert_allclose(movie[:50], stabilized, atol=0.26)  # half a 0.5 code step
        shift_x, shift_y = (MotionCorrected & SESSION).fetch1("shift_x", "shift_y")
        masks = (ROI & SESSION).fetch1("roi_masks")
        rows = (Trace & SESSION).to_dicts(order_by="roi_id")
        assert [r["roi_id"] for r in rows] == list(range(len(masks)))
        # the document's shift_x holds shifts[:, 0], which phase_cross_correlation gives
        # as the row (y) shift; shift_y the column (x) shift
        check_registration(truth, shift_x, shift_y, typical=True)
        # its 95th-percentile threshold of the mean image finds only the brightest cells
        assert len(masks) >= 2
        cells, on_cell = cells_under(truth, masks)
        assert np.mean(on_cell >= 0.5) >= 0.5, on_cell.round(2)  # most masks lie on a cell
        corrected = (MotionCorrected & SESSION).fetch1("corrected_movie")
        counts = generalized_inverse_anscombe(corrected[:])
        judged = 0
        for roi_id, row in enumerate(rows):
            # roi_id indexes roi_masks: the trace is the one of masks[roi_id], exactly
            expected = counts[:, masks[roi_id]].mean(axis=1)
            np.testing.assert_allclose(row["fluorescence"], expected, rtol=1e-5)
            r = correlations(row["fluorescence"], truth)
            if on_cell[roi_id] >= 0.5 and r[cells[roi_id]] > 0.5:  # not drowned by bad frames
                judged += 1
                assert int(np.nanargmax(r)) == cells[roi_id], (roi_id, r.round(2))
        assert judged >= 1
        if store == "file":
            assert len(zarr_folders(tmp_path / "imaging")) == 2  # raw and corrected
    finally:
        dj.Schema("calcium_imaging", connection=connection).drop(prompt=False)


def test_usage_example_runs_unchanged_on_the_pipeline(photon_home, agg_backend):
    from napari_photon import pipeline

    lab = pipeline.activate("test_design_document_usage")
    folder = pipeline.session_folder(SESSION)
    folder.mkdir(parents=True, exist_ok=True)
    truth = ground_truth(seed=22)
    synthetic.write_tiff(folder / "a.tif", truth.movie, frame_rate=30.0)
    usage = document_blocks()[3]  # as written: plt.show() returns at once with Agg
    namespace = {"__name__": "usage"}
    exec(  # noqa: S102 - the user's code, names imported as a user of the package would
        "from napari_photon.pipeline import Mouse, Session, Recording, MotionCorrected, ROI, "
        "Trace\n" + usage,
        namespace,
    )
    traces = namespace["traces"]
    assert len(traces) == (lab.ROI & SESSION).fetch1("n_rois") > 0
    shift_x, shift_y = (lab.MotionCorrected & SESSION).fetch1("shift_x", "shift_y")
    masks = (lab.ROI & SESSION).fetch1("roi_masks")
    rows = (lab.Trace & SESSION).to_dicts(order_by="roi_id")
    check_registration(truth, shift_y, shift_x)
    assert len(masks) >= len(truth.masks) // 2
    cells, on_cell = cells_under(truth, masks)
    assert np.all(on_cell >= 0.5), on_cell.round(2)
    for roi_id, (cell, row) in enumerate(zip(cells, rows)):
        r = correlations(row["fluorescence"], truth)
        if np.isnan(r[cell]):  # a silent cell: its trace follows no other cell's
            assert np.nanmax(np.abs(r)) < 0.5, (roi_id, r.round(2))
        else:  # roi_id pairs the mask with its own cell's activity
            assert int(np.nanargmax(r)) == cell and r[cell] > 0.8, (roi_id, r.round(2))
