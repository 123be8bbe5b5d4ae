"""``browse.load_tree``: Mouse -> Session -> Recording with downstream status and filters.

Also holds :func:`new_mouse`, the helper the other browse/widget tests use to put uniquely
named mice with synthetic recordings into the session's embedded pipeline.
"""

from __future__ import annotations


import pytest

from conftest import new_session

from napari_photon import synthetic
from napari_photon.calibration import Calibration
from napari_photon.io import calibration_properties

DATE = "2026-11-25"
# photon counts with the calibration in the file: no estimation on tiny movies
COUNTS = calibration_properties(Calibration(gain=1.0, zero_level=0.0))


def new_mouse(
    pipeline,
    *,
    recordings: int = 1,
    frames: int = 40,
    size: int = 48,
    seed: int = 0,
    volume: bool = False,
    populate: tuple = (),
    strain: str = "C57BL/6J",
    prefix: str = "B",
    frames_per_shard: int | None = None,
    neurons: int = 4,
    radius: tuple[float, float] = (3.0, 4.0),
) -> dict:
    """Insert a uniquely named mouse with one session of synthetic TIFF recordings.

    Recording (and VolumeRecording with ``volume``) are populated, the movies stored in
    shards of ``frames_per_shard`` frames (default: one shard); ``populate`` names the
    downstream tables to populate as well. Returns the session key.
    """
    from napari_photon.storage import write_options

    key = new_session(pipeline, note=prefix, session_date=DATE)
    pipeline.Mouse.update1({"mouse_id": key["mouse_id"], "strain": strain, "sex": "M"})
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    for i in range(recordings):
        truth = synthetic.make_movie(
            n_frames=frames,
            shape=(size, size),
            n_neurons=neurons,
            max_shift=2.0,
            neuron_radius=radius,
            seed=seed + i,
        )
        synthetic.write_tiff(
            folder / f"r{i + 1:02d}.tif", truth.movie, frame_rate=10.0, properties=COUNTS
        )
    if volume:
        vol = synthetic.make_volume(
            n_frames=6,
            n_planes=3,
            shape=(32, 32),
            n_neurons=3,
            max_shift=1.0,
            neuron_radius=(3.0, 4.0),
            seed=seed + 100,
        )
        synthetic.write_tiff(
            folder / f"v{recordings + 1:02d}.tif",
            vol.movie,
            frame_rate=5.0,
            plane_spacing=5.0,
            properties=COUNTS,
        )
        pipeline.VolumeRecording.populate(key)
    budget = (frames_per_shard or frames) * 4 * size * size
    with write_options(chunk_budget=budget):
        pipeline.Recording.populate(key)
    defaults = {**key, "motion_params_id": 1, "roi_params_id": 1}  # other tests add sets
    for table in populate:
        table.populate(defaults)
    return key


def _tables(pipeline):
    from napari_photon.browse import PipelineTables

    return PipelineTables.from_pipeline(pipeline)


def _mine(tree, *mice):
    return [m for m in tree if m.key["mouse_id"] in mice]


def test_tree_lists_recordings_with_status(pipeline):
    from napari_photon.browse import load_tree

    done = new_mouse(pipeline, recordings=2, populate=(pipeline.MotionCorrected, pipeline.ROI))
    raw = new_mouse(pipeline, volume=True)
    tree = _mine(load_tree(_tables(pipeline)), done["mouse_id"], raw["mouse_id"])
    assert [m.key["mouse_id"] for m in tree] == sorted([done["mouse_id"], raw["mouse_id"]])
    by_mouse = {m.key["mouse_id"]: m for m in tree}

    first, second = by_mouse[done["mouse_id"]].sessions[0].recordings
    assert first.kind == second.kind == "recording"
    assert (first.n_frames, first.height, first.width) == (40, 48, 48)
    assert first.label.startswith("#1") and first.label.endswith("r01.tif")
    n_rois = len((pipeline.ROI & first.key).fetch1("roi_masks"))
    assert first.status.motion == 1 and first.status.rois == 1 and first.status.n_rois == n_rois
    assert first.status.traces == 0
    assert first.status.text("motion") == "yes"
    assert first.status.text("rois") == str(n_rois)
    assert first.status.text("traces") == "-"
    assert first.status.text("curated") == "-"  # nobody curated its ROIs yet

    session = by_mouse[raw["mouse_id"]].sessions[0]
    kinds = [(r.kind, r.key["recording_num"]) for r in session.recordings]
    assert kinds == [("recording", 1), ("volume", 2)]
    plain, volume = session.recordings
    assert plain.status.text("motion") == "-"
    assert volume.n_planes == 3 and volume.shape_text == "6 x 3 x 32 x 32"
    assert volume.status.text("motion") == "n/a"  # nothing downstream of volumes yet
    assert volume.status.text("curated") == "n/a"


def test_curated_column_counts_the_versions(pipeline):
    import numpy as np

    from napari_photon.browse import load_tree

    key = new_mouse(pipeline, recordings=2, populate=(pipeline.MotionCorrected, pipeline.ROI))
    roi_key = (pipeline.ROI & {**key, "recording_num": 1}).keys()[0]
    drawn = np.zeros((48, 48), bool)
    drawn[10:16, 10:16] = True
    for curator in ("ada", "grace"):
        pipeline.commit_curation(roi_key, [drawn], ["cell"], ["drawn"], [[]], curator=curator)

    (mouse,) = _mine(load_tree(_tables(pipeline)), key["mouse_id"])
    first, second = mouse.sessions[0].recordings
    assert first.status.curated == 2 and first.status.text("curated") == "2 versions"
    assert second.status.curated == 0 and second.status.text("curated") == "-"


def test_filter_restricts_every_level(pipeline):
    from napari_photon.browse import KeyFilter, load_tree

    tables = _tables(pipeline)
    a = new_mouse(pipeline, recordings=2, strain="GCaMP6s-test")
    b = new_mouse(pipeline, recordings=1)
    attributes = tables.filter_attributes()

    def shown(text):
        tree = _mine(
            load_tree(tables, KeyFilter.parse(text, attributes)), a["mouse_id"], b["mouse_id"]
        )
        return {m.key["mouse_id"]: [r.key["recording_num"] for r in m.recordings()] for m in tree}

    assert shown("") == {a["mouse_id"]: [1, 2], b["mouse_id"]: [1]}
    assert shown(str(a["mouse_id"])) == {a["mouse_id"]: [1, 2]}  # a bare value is a mouse id
    assert shown(f"mouse_id={a['mouse_id']}|{b['mouse_id']} recording_num=2") == {
        a["mouse_id"]: [2]
    }
    assert shown("strain=GCaMP6s-test") == {a["mouse_id"]: [1, 2]}
    assert shown(f"session_date={DATE} recording_num=1") == {a["mouse_id"]: [1], b["mouse_id"]: [1]}
    assert shown("n_planes=3") == {}  # only volumes have planes: no 2D recording matches
    assert shown("recording_num=99") == {}


def test_sessions_without_recordings_show_unless_filtered_below(pipeline):
    from napari_photon.browse import KeyFilter, load_tree

    tables = _tables(pipeline)
    mouse = new_session(pipeline, session_date=DATE)["mouse_id"]
    tree = _mine(load_tree(tables), mouse)
    assert len(tree) == 1 and tree[0].sessions[0].recordings == ()
    attributes = tables.filter_attributes()
    assert _mine(load_tree(tables, KeyFilter.parse("recording_num=1", attributes)), mouse) == []
    assert len(_mine(load_tree(tables, KeyFilter.parse(str(mouse), attributes)), mouse)) == 1


@pytest.mark.parametrize("column", ["motion", "rois", "traces", "curated"])
def test_status_text_of_missing_tables(column):
    from napari_photon.browse import RecordingStatus

    assert RecordingStatus().text(column) == "n/a"
    assert RecordingStatus(motion=0, rois=0, traces=0, curated=0).text(column) == "-"
    assert RecordingStatus(motion=2, rois=2, n_rois=7, traces=7, curated=1).text("rois") == (
        "7 (2 sets)"
    )
    assert RecordingStatus(curated=1).text("curated") == "1 version"
