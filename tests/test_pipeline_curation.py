"""``Curation``, ``Curation.Mask`` and ``CuratedTrace``: curated versions of an ROI set,
committed whole in one transaction, their traces made by ``populate``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import datajoint as dj
import numpy as np
import pytest
from conftest import _private_tmpdir, tiff_session

from napari_photon import traces
from napari_photon.pipeline import CurationError

# The movie in which ROI detection finds several ROIs (test_pipeline's design-document test).
DESIGN = {"n_frames": 150, "shape": (96, 96), "n_neurons": 8, "max_shift": 3, "seed": 4}
_populated: dict[str, dict] = {}


def roi_set(pipeline) -> dict:
    """The key of one populated ROI set (made once per schema: populating takes a while)."""
    if pipeline.database not in _populated:
        session = tiff_session(pipeline, "curation", **DESIGN)
        pipeline.populate(session, tables=("Recording", "MotionCorrected", "ROI", "Trace"))
        key = (pipeline.ROI & session).keys()[0]
        assert (pipeline.ROI & key).fetch1("n_rois") >= 4
        _populated[pipeline.database] = key
    return _populated[pipeline.database]


def disk(shape, centre, radius) -> np.ndarray:
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def curated_from_detected(detected: np.ndarray):
    """Merge ROIs 0 and 1, relabel ROI 2 'not cell', keep the rest, draw one."""
    drawn = disk(detected.shape[1:], (5, 5), 3) & ~detected.any(axis=0)
    masks = [detected[0] | detected[1], detected[2], *detected[3:], drawn]
    n_kept = len(detected) - 3
    labels = ["cell", "not cell", *["cell"] * n_kept, "unsure"]
    origins = ["merged", "detected", *["detected"] * n_kept, "drawn"]
    sources = [[0, 1], [2], *[[i] for i in range(3, len(detected))], []]
    return masks, labels, origins, sources


def rows_in_schema(pipeline) -> tuple[int, int]:
    return len(pipeline.Curation()), len(pipeline.Curation.Mask())


def test_commit_stores_the_version_and_populate_makes_its_traces(pipeline):
    key = roi_set(pipeline)
    detected = (pipeline.ROI & key).fetch1("roi_masks")
    trace_rows_before = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    masks, labels, origins, sources = curated_from_detected(detected)
    taken = (pipeline.Curation & key).to_arrays("curation_id")

    version = pipeline.commit_curation(
        key, masks, labels, origins, sources, curator="ada", note="merged 0 and 1"
    )

    assert version == {**key, "curation_id": max(taken, default=0) + 1}  # 1 for the first
    row = (pipeline.Curation & version).fetch1()
    assert (row["curator"], row["note"]) == ("ada", "merged 0 and 1")
    assert row["parent_curation_id"] is None and row["parent_kind"] == "detected"
    assert row["curated_at"] is not None
    stored = (pipeline.Curation.Mask & version).to_dicts(order_by="roi_id")
    assert [r["roi_id"] for r in stored] == list(range(len(masks)))
    assert [r["label"] for r in stored] == labels
    assert [r["origin"] for r in stored] == origins
    for r, mask, source in zip(stored, masks, sources):
        assert r["mask"].dtype == bool and np.array_equal(r["mask"], mask)
        assert r["sources"].dtype == np.int64 and r["sources"].tolist() == source
    # the detected set and its traces are untouched
    assert np.array_equal((pipeline.ROI & key).fetch1("roi_masks"), detected)

    results = {r.table: r for r in pipeline.populate(key)}
    # one key made: the version (its make inserts a row per mask)
    assert results["CuratedTrace"].done == 1 and not results["CuratedTrace"].errors
    corrected = (pipeline.MotionCorrected & key).fetch1("corrected_movie")
    expected = traces.extract_all(
        corrected.photons("algebraic"), np.stack(masks), frames_per_chunk=corrected.frames_per_chunk
    )
    made = (pipeline.CuratedTrace & version).to_dicts(order_by="roi_id")
    assert [r["roi_id"] for r in made] == list(range(len(masks)))
    for i, r in enumerate(made):
        np.testing.assert_array_equal(r["fluorescence"], expected.fluorescence[i])
        np.testing.assert_array_equal(r["neuropil"], expected.neuropil[i])
        np.testing.assert_array_equal(r["dff"], expected.dff[i])
    trace_rows_after = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    assert len(trace_rows_after) == len(trace_rows_before)
    for before, after in zip(trace_rows_before, trace_rows_after):
        np.testing.assert_array_equal(before["fluorescence"], after["fluorescence"])


def test_a_second_curators_version_sits_beside_the_first(pipeline):
    key = roi_set(pipeline)
    detected = (pipeline.ROI & key).fetch1("roi_masks")
    first = pipeline.commit_curation(key, *curated_from_detected(detected), curator="ada")
    first_masks = (pipeline.Curation.Mask & first).to_dicts(order_by="roi_id")
    # start from ada's version: split its merged ROI 0 back into its two detected halves
    parent = [r["mask"] for r in first_masks]
    masks = [detected[0], detected[1] & ~detected[0], *parent[1:]]
    labels = ["cell", "cell", *[r["label"] for r in first_masks[1:]]]
    origins = ["split", "split", *["detected"] * (len(parent) - 1)]
    sources = [[0], [0], *[[i] for i in range(1, len(parent))]]

    parent_id = first["curation_id"]
    second = pipeline.commit_curation(
        key, masks, labels, origins, sources, curator="grace", parent_curation_id=parent_id
    )

    assert second["curation_id"] == first["curation_id"] + 1
    assert (pipeline.Curation & second).fetch1("parent_kind", "parent_curation_id") == (
        "curation",
        first["curation_id"],
    )
    assert (pipeline.Curation & first).fetch1("curator") == "ada"
    again = (pipeline.Curation.Mask & first).to_dicts(order_by="roi_id")
    assert len(again) == len(first_masks)
    assert all(np.array_equal(a["mask"], b["mask"]) for a, b in zip(again, first_masks))
    assert len(pipeline.Curation.Mask & second) == len(masks)
    # an empty version (every ROI rejected) is a version too, with no traces to make
    empty = pipeline.commit_curation(key, [], [], [], [], curator="ada")
    assert empty["curation_id"] == second["curation_id"] + 1
    pipeline.populate(key, tables=("CuratedTrace",))
    assert len(pipeline.CuratedTrace & second) == len(masks)
    assert len(pipeline.CuratedTrace & empty) == 0
    assert len(pipeline.CuratedTrace.key_source & empty) == 0


def _connection(like) -> dj.Connection:
    info = like.conn_info
    return dj.Connection(
        info["host"],
        info["user"],
        info["passwd"],
        info["port"],
        info.get("ssl_input"),
        database_name=info.get("database_name"),
        backend=like.adapter.backend,
    )


def _wait_for_lock_waits(observer, pids: list[int], timeout: float = 60.0) -> None:
    """Poll the server until every one of ``pids`` waits on a lock (or fail)."""
    marks = ", ".join(str(p) for p in pids)
    sql = f"SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid IN ({marks})"
    deadline = time.monotonic() + timeout
    while observer.query(sql).fetchone()[0] < len(pids):
        assert time.monotonic() < deadline, "the commits never waited on the ROI set's lock"
        time.sleep(0.05)


def test_concurrent_commits_get_their_own_versions(pipeline):
    """Two curators commit while a third connection holds the ROI set: both wait, then
    each gets a version of its own, with all of its masks."""
    from napari_photon.pipeline import Pipeline

    key = roi_set(pipeline)
    detected = (pipeline.ROI & key).fetch1("roi_masks")
    before = set((pipeline.Curation & key).to_arrays("curation_id"))
    connections = [_connection(pipeline.connection) for _ in range(3)]
    holder, *curators = connections
    try:
        # each curator's own Pipeline on its own connection (not activate(): the
        # connections are closed at the end, and activate keeps what it opened)
        lines = [Pipeline(dj.Schema(pipeline.database, connection=c)) for c in curators]
        assert all(line.connection is c for line, c in zip(lines, curators))
        pids = [c.query("SELECT pg_backend_pid()").fetchone()[0] for c in curators]
        results: dict[str, dict] = {}
        failures: list[BaseException] = []

        def commit(line, name, n_masks):
            try:
                masks = [detected[i] for i in range(n_masks)]
                results[name] = line.commit_curation(
                    key, masks, ["cell"] * n_masks, ["detected"] * n_masks,
                    [[i] for i in range(n_masks)], curator=name,
                )
            except BaseException as error:  # noqa: BLE001 - reported by the test
                failures.append(error)

        holder.start_transaction()
        holder.query((pipeline.ROI & key).proj().make_sql() + " FOR UPDATE")
        threads = [
            threading.Thread(target=commit, args=(line, name, n))
            for line, name, n in zip(lines, ("ada", "grace"), (2, 3))
        ]
        for thread in threads:
            thread.start()
        try:
            _wait_for_lock_waits(holder, pids)
        finally:
            holder.commit_transaction()
            for thread in threads:
                thread.join(timeout=120)
        assert not failures, failures
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for connection in connections:
            connection.close()

    ids = {results["ada"]["curation_id"], results["grace"]["curation_id"]}
    assert len(ids) == 2 and not ids & before
    assert set((pipeline.Curation & key).to_arrays("curation_id")) == before | ids
    for name, n_masks in (("ada", 2), ("grace", 3)):
        version = results[name]
        assert (pipeline.Curation & version).fetch1("curator") == name
        assert len(pipeline.Curation.Mask & version) == n_masks


def _bad_inputs(detected: np.ndarray) -> dict[str, tuple[dict, dict, str]]:
    """name: (roi key changes, commit arguments, a word of the message)."""
    good = {"masks": [detected[0]], "labels": ["cell"], "origins": ["detected"], "sources": [[0]]}
    height, width = detected.shape[1:]
    return {
        "shape": ({}, {**good, "masks": [np.ones((height, width + 1), bool)]}, "shape"),
        "lengths": ({}, {**good, "labels": ["cell", "cell"]}, "per mask"),
        "label": ({}, {**good, "labels": ["neuron"]}, "label"),
        "origin": ({}, {**good, "origins": ["guessed"]}, "origin"),
        "no ROI set": ({"roi_params_id": 999}, good, "no ROI set"),
        "key lacks": ({"roi_params_id": None}, good, "lacks"),
        "empty mask": ({}, {**good, "masks": [np.zeros((height, width), bool)]}, "empty"),
        "not a mask": ({}, {**good, "masks": [detected[0] * 2]}, "values"),
        "source range": ({}, {**good, "sources": [[len(detected)]]}, "parent set has"),
        "merged from one": ({}, {**good, "origins": ["merged"]}, "at least 2"),
        "drawn with sources": ({}, {**good, "origins": ["drawn"]}, "takes 0"),
        "no parent": ({}, {**good, "parent_curation_id": 999}, "no curation 999"),
        "parent kind": ({}, {**good, "parent_kind": "curation"}, "parent_curation_id"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(np.ones((4, 2, 2), bool))))
def test_bad_input_raises_and_writes_nothing(pipeline, case):
    key = roi_set(pipeline)
    detected = (pipeline.ROI & key).fetch1("roi_masks")
    changes, arguments, word = _bad_inputs(detected)[case]
    roi_key = {k: v for k, v in {**key, **changes}.items() if v is not None}
    before = rows_in_schema(pipeline)
    with pytest.raises(CurationError, match=word) as raised:
        pipeline.commit_curation(roi_key, curator="ada", **arguments)
    assert isinstance(raised.value, ValueError)
    assert rows_in_schema(pipeline) == before


def test_a_failure_inside_the_transaction_leaves_no_master_row(pipeline, monkeypatch):
    key = roi_set(pipeline)
    detected = (pipeline.ROI & key).fetch1("roi_masks")
    before = rows_in_schema(pipeline)

    def broken_insert(self, rows, **kwargs):
        list(rows)
        raise RuntimeError("the server went away while the masks were written")

    monkeypatch.setattr(pipeline.Curation.Mask, "insert", broken_insert)
    with pytest.raises(RuntimeError, match="went away"):
        pipeline.commit_curation(
            key, [detected[0]], ["cell"], ["detected"], [[0]], curator="ada"
        )
    monkeypatch.undo()
    assert rows_in_schema(pipeline) == before
    assert not pipeline.connection.in_transaction


MARIADB_SCRIPT = textwrap.dedent(
    """
    import json, threading, time, warnings
    warnings.simplefilter("ignore")
    import datajoint as dj
    import numpy as np
    from napari_photon import pipeline, synthetic

    lab = pipeline.activate("photon_mariadb_curation")
    key = {"mouse_id": 1, "session_date": "2026-11-25"}
    lab.Mouse.insert1({"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"})
    lab.Session.insert1({**key, "experimenter": "Jane Doe", "notes": "MariaDB"})
    folder = lab.session_folder(key)
    folder.mkdir(parents=True)
    truth = synthetic.make_movie(n_frames=40, shape=(48, 48), n_neurons=3, seed=5)
    synthetic.write_tiff(folder / "a.tif", truth.movie)
    lab.populate(key, tables=("Recording", "MotionCorrected", "ROI"))
    roi_key = (lab.ROI & key).keys()[0]
    squares = np.zeros((3, 48, 48), bool)
    for i in range(3):
        squares[i, 5 + 12 * i : 11 + 12 * i, 5:11] = True

    info = lab.connection.conn_info
    def connect():
        return dj.Connection(info["host"], info["user"], info["passwd"], info["port"],
                             info.get("ssl_input"), backend="mysql")
    holder = connect()
    lines = [pipeline.Pipeline(dj.Schema(lab.database, connection=connect())) for _ in "ab"]
    results, errors = {}, []
    def commit(line, name, n):
        try:
            results[name] = line.commit_curation(
                roi_key, squares[:n], ["not cell"] * n, ["drawn"] * n, [[]] * n, curator=name)
        except BaseException as error:
            errors.append(repr(error))
    holder.start_transaction()
    holder.query((lab.ROI & roi_key).proj().make_sql() + " FOR UPDATE")
    threads = [threading.Thread(target=commit, args=(line, name, n))
               for line, name, n in zip(lines, "ab", (2, 3))]
    for thread in threads:
        thread.start()
    waiting = ("SELECT count(*) FROM information_schema.processlist "
               "WHERE info LIKE '%%FOR UPDATE' AND id <> CONNECTION_ID()")
    deadline = time.monotonic() + 60
    while holder.query(waiting).fetchone()[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    both_waited = holder.query(waiting).fetchone()[0] == 2
    holder.commit_transaction()
    for thread in threads:
        thread.join()
    lab.populate(key, tables=("CuratedTrace",))
    out = {
        "both_waited": both_waited,
        "errors": errors,
        "ids": sorted(r["curation_id"] for r in results.values()),
        "masks": {name: len(lab.Curation.Mask & r) for name, r in results.items()},
        "labels": sorted(set((lab.Curation.Mask & roi_key).to_arrays("label"))),
        "curated_traces": len(lab.CuratedTrace & roi_key),
    }
    print("RESULT" + json.dumps(out))
    """
)


@pytest.mark.mariadb
def test_concurrent_commits_on_mariadb(mariadb_server):
    """The same race on MySQL/MariaDB, whose transactions read the snapshot they began
    with: the ids must come from a locking read."""
    home = _private_tmpdir("napari-photon-mariadb-curation-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env.update(
        DJ_BACKEND="mysql",
        DJ_HOST=mariadb_server["host"],
        DJ_PORT=str(mariadb_server["port"]),
        DJ_USER=mariadb_server["user"],
        DJ_PASS=mariadb_server["password"],
        DJ_USE_TLS="False",
        NAPARI_PHOTON_HOME=str(home),
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", MARIADB_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[0][len("RESULT") :])
    assert result["both_waited"] and result["errors"] == []
    assert result["ids"] == [1, 2] and result["masks"] == {"a": 2, "b": 3}
    assert result["labels"] == ["not cell"] and result["curated_traces"] == 5
