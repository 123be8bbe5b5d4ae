"""The curation draft: atomic saves, loading, finding drafts, and surviving SIGKILL."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from curation_helpers import sample_set, scripted_actions

from napari_photon import curation as C
from napari_photon.curation import (
    CurationError,
    CurationSession,
    discard_draft,
    draft_path,
    drafts_for,
    fingerprint,
    load_draft,
    read_draft_info,
    save_draft,
)

SOURCE = {"mouse_id": 1, "session_date": "2026-05-04", "recording_num": 2}


def test_a_saved_draft_loads_back_equal_with_its_info(tmp_path):
    state = C.merge(sample_set(), [0, 1])
    path = save_draft(tmp_path / "d.npz", state, history=["merge"], source=SOURCE,
                      base=fingerprint(sample_set()))
    draft = load_draft(path)
    assert draft.state == state
    assert draft.state.labels == state.labels and draft.state.sources == state.sources
    assert draft.info.history == ("merge",) and draft.info.source == SOURCE
    assert draft.info.base == fingerprint(sample_set()) and draft.info.n_rois == len(state)
    assert draft.info.saved.tzinfo is not None
    assert abs(datetime.datetime.now(datetime.timezone.utc) - draft.info.saved).total_seconds() < 60
    assert read_draft_info(path) == draft.info
    images = sample_set().images
    assert load_draft(path, images).state.images is images


def test_saving_replaces_the_file_and_leaves_no_temporary_behind(tmp_path):
    path = tmp_path / "drafts" / "d.npz"  # the folder is made
    save_draft(path, sample_set())
    save_draft(path, C.delete(sample_set(), [0]), history=["delete"])
    assert sorted(p.name for p in path.parent.iterdir()) == ["d.npz"]
    assert load_draft(path).state == C.delete(sample_set(), [0])


def test_drafts_for_finds_a_sources_drafts_newest_first(tmp_path):
    first = save_draft(draft_path(tmp_path, SOURCE), sample_set(), source=SOURCE)
    other = {**SOURCE, "recording_num": 3}
    save_draft(draft_path(tmp_path, other), sample_set(), source=other)
    later = save_draft(tmp_path / "second.npz", C.delete(sample_set(), [1]), source=SOURCE)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    (tmp_path / ".second.npz.abc.tmp").write_bytes(b"half written")
    found = drafts_for(tmp_path, SOURCE)
    assert [info.path for info in found] == [later, first]
    assert len(drafts_for(tmp_path)) == 3
    assert drafts_for(tmp_path / "missing", SOURCE) == []
    assert draft_path(tmp_path, SOURCE) == draft_path(tmp_path, dict(reversed(SOURCE.items())))
    assert draft_path(tmp_path, SOURCE) != draft_path(tmp_path, other)


def test_a_table_key_with_a_date_finds_its_draft(tmp_path):
    key = {"mouse_id": 1, "session_date": datetime.date(2026, 5, 4)}
    path = save_draft(draft_path(tmp_path, key), sample_set(), source=key)
    assert [info.path for info in drafts_for(tmp_path, key)] == [path]
    assert read_draft_info(path).source == {"mouse_id": 1, "session_date": "2026-05-04"}


def test_files_that_are_not_drafts_are_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CurationError, match="not a readable curation draft"):
        load_draft(tmp_path / "junk.npz")
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    with pytest.raises(CurationError, match="not a curation draft"):
        load_draft(tmp_path / "arrays.npz")
    with pytest.raises(FileNotFoundError):
        load_draft(tmp_path / "none.npz")


def test_discard_draft(tmp_path):
    path = save_draft(tmp_path / "d.npz", sample_set())
    discard_draft(path)
    assert not path.exists()
    discard_draft(path)  # already gone: fine


CHILD = textwrap.dedent("""
    import sys
    from curation_helpers import sample_set, scripted_actions
    from napari_photon.curation import CurationSession

    session = CurationSession(sample_set(), sys.argv[1], source={"test": "kill"})
    if sys.argv[2] == "script":
        for name, args in scripted_actions():
            session.apply(name, **args)
        session.undo()
        session.set_label([0], "unsure")
        print("ready", flush=True)
        sys.stdin.read()  # wait to be killed
    else:
        count = 0
        while True:
            session.set_label([0], "not cell" if count % 2 == 0 else "cell")
            count += 1
            print(count, flush=True)
""")


def _child(tmp_path: Path, mode: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tests.parent / "src"), str(tests), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "draft.npz"), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def _kill(child: subprocess.Popen) -> str:
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read()
    assert child.wait(timeout=60) == -signal.SIGKILL
    child.stdin.close()
    child.stdout.close()
    return rest


def test_a_draft_survives_sigkill_with_the_state_after_the_last_action(tmp_path):
    child = _child(tmp_path, "script")
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        _kill(child)
    expected = CurationSession(sample_set())
    for name, args in scripted_actions():
        expected.apply(name, **args)
    expected.undo()
    expected.set_label([0], "unsure")
    draft = load_draft(tmp_path / "draft.npz")
    assert draft.state == expected.state
    assert draft.info.history == expected.history
    assert draft.info.source == {"test": "kill"}
    resumed = CurationSession.resume(tmp_path / "draft.npz")
    assert resumed.state == expected.state and not resumed.can_undo


def test_a_kill_in_the_middle_of_saving_never_leaves_a_torn_draft(tmp_path):
    child = _child(tmp_path, "loop")
    try:
        while int(child.stdout.readline()) < 40:
            pass
    finally:
        printed = [int(line) for line in _kill(child).split()]
    last = max(printed, default=40)
    draft = load_draft(tmp_path / "draft.npz")  # loads: not torn
    saved = len(draft.info.history)
    assert saved in (last, last + 1)  # saved before printing, so maybe one ahead
    assert draft.state.labels[0] == ("not cell" if saved % 2 else "cell")
    assert draft.state.rois[1:] == sample_set().rois[1:]
