"""CurationSession: exact undo/redo of every action, history, callbacks, the draft."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import disk_mask, sample_set, scripted_actions

from napari_photon.curation import (
    Change,
    CurationError,
    CurationSession,
    RoiSet,
    load_draft,
)


@pytest.mark.parametrize("step", range(len(scripted_actions())))
def test_each_action_undoes_to_the_exact_state_and_redoes(step):
    session = CurationSession(sample_set())
    actions = scripted_actions()
    for name, args in actions[:step]:
        session.apply(name, **args)
    before = session.state
    copy_before = RoiSet(before.shape, before.rois, before.metrics)
    name, args = actions[step]
    after = session.apply(name, **args)
    assert after != before and session.state is after
    undone = session.undo()
    assert undone is before and undone == copy_before
    assert undone.labels == copy_before.labels and undone.sources == copy_before.sources
    assert undone.origins == copy_before.origins
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(undone, copy_before))
    redone = session.redo()
    assert redone is after
    # applying it again from the restored state gives an equal state
    session.undo()
    assert session.apply(name, **args) == after


def test_undo_all_the_way_back_and_redo_all_the_way_forward():
    session = CurationSession(sample_set())
    states = [session.state]
    for name, args in scripted_actions():
        states.append(session.apply(name, **args))
    assert session.history == tuple(name for name, _ in scripted_actions())
    for expected in reversed(states[:-1]):
        assert session.undo() == expected
    assert session.state == sample_set() and not session.can_undo and session.can_redo
    assert session.history == () and len(session.redo_history) == len(states) - 1
    for expected in states[1:]:
        assert session.redo() == expected
    assert not session.can_redo and session.redo_history == ()


def test_undo_is_unbounded():
    session = CurationSession(sample_set())
    for k in range(600):
        session.set_label([k % 6], ["not cell", "unsure", "cell"][(k // 6) % 3])
    assert len(session.history) == 600
    while session.can_undo:
        session.undo()
    assert session.state == sample_set()


def test_a_new_action_clears_redo():
    session = CurationSession(sample_set())
    session.merge([0, 1])
    session.delete([2])
    session.undo()
    assert session.can_redo and session.redo_history == ("delete",)
    session.set_label([0], "unsure")
    assert not session.can_redo and session.history == ("merge", "set_label")
    with pytest.raises(CurationError, match="nothing to redo"):
        session.redo()


def test_nothing_to_undo_and_no_op_actions_are_not_recorded():
    session = CurationSession(sample_set())
    with pytest.raises(CurationError, match="nothing to undo"):
        session.undo()
    state = session.state
    assert session.set_label([0], "cell") is state  # already a cell
    assert session.relabel_where("area", "<", 0, "not cell") is state
    assert session.history == () and not session.can_undo


def test_the_methods_are_the_named_actions():
    by_method = CurationSession(sample_set())
    by_method.merge([0, 1])
    by_method.split_by_line(4, (0, 42), (47, 42))
    by_method.split_by_correlation(1)
    by_method.draw(disk_mask((40, 56), 3))
    by_method.erase(0, disk_mask((12, 12), 2))
    by_method.set_label([1, 2], "not cell")
    by_method.delete([3])
    assert by_method.count_relabel("area", "<", 40, "unsure") > 0
    by_method.relabel_where("area", "<", 40, "unsure")
    by_name = CurationSession(sample_set())
    for name, args in scripted_actions():
        by_name.apply(name, **args)
    assert by_method.state == by_name.state and by_method.history == by_name.history


def test_callbacks_hear_every_change_until_disconnected():
    session = CurationSession(sample_set())
    heard: list[Change] = []
    stop = session.on_change(heard.append)
    first = session.state
    merged = session.merge([0, 1])
    session.undo()
    session.redo()
    with pytest.raises(CurationError):
        session.merge([0])  # refused: no callback
    session.set_label([0], "cell")  # no change: no callback
    assert [(c.kind, c.action) for c in heard] == [("apply", "merge"), ("undo", "merge"),
                                                   ("redo", "merge")]
    assert heard[0].previous is first and heard[0].state is merged
    assert heard[1].state is first and heard[1].previous is merged
    stop()
    session.delete([0])
    assert len(heard) == 3
    stop()  # twice: harmless


@pytest.mark.parametrize("name, args, message", [
    ("merge", {"ids": [3]}, "at least 2"),
    ("split_by_line", {"roi_id": 4, "p0": (0, 0), "p1": (0, 63)}, "empty part"),
    ("draw", {"mask": np.zeros((5, 5), bool)}, "frame is 48x64"),
    ("erase", {"roi_id": 9, "mask": disk_mask((5, 5), 2)}, "out of range"),
    ("set_label", {"ids": [0], "label": "neuron"}, "unknown label"),
    ("relabel_where", {"metric": "snr", "op": "<", "value": 1, "label": "cell"},
     "unknown metric"),
    ("explode", {}, "unknown action 'explode'"),
    ("merge", {"idz": [0, 1]}, "merge: .*'ids'; it takes ids"),
    ("delete", {}, "delete: missing a required argument.*it takes ids"),
])
def test_a_refused_action_changes_nothing_not_even_the_draft(tmp_path, name, args, message):
    path = tmp_path / "draft.npz"
    session = CurationSession(sample_set(), path)
    session.merge([0, 1])
    state, history, saved = session.state, session.history, path.read_bytes()
    with pytest.raises(CurationError, match=message):
        session.apply(name, **args)
    assert session.state is state and session.history == history and not session.can_redo
    assert path.read_bytes() == saved


def test_the_draft_follows_every_action_undo_and_redo(tmp_path):
    path = tmp_path / "draft.npz"
    session = CurationSession(sample_set(), path, source={"recording": 7})
    assert not path.exists()  # nothing to save before the first change
    for name, args in scripted_actions()[:3]:
        session.apply(name, **args)
        assert load_draft(path).state == session.state
        assert load_draft(path).info.history == session.history
    session.undo()
    assert load_draft(path).state == session.state
    assert load_draft(path).info.history == session.history
    session.redo()
    assert load_draft(path).state == session.state
    assert load_draft(path).info.source == {"recording": 7}
    assert load_draft(path).info.base == session.base


def test_resume_continues_the_draft_with_its_history(tmp_path):
    path = tmp_path / "draft.npz"
    session = CurationSession(sample_set(), path, source={"recording": 7})
    session.merge([0, 1])
    session.delete([4])
    images = sample_set().images
    resumed = CurationSession.resume(path, images)
    assert resumed.state == session.state and resumed.state.images is images
    assert resumed.history == ("merge", "delete") and not resumed.can_undo
    assert resumed.source == {"recording": 7} and resumed.base == session.base
    resumed.set_label([0], "unsure")
    assert load_draft(path).info.history == ("merge", "delete", "set_label")
    resumed.undo()
    assert resumed.history == ("merge", "delete")
    assert load_draft(path).state == session.state


def test_a_draft_that_cannot_be_saved_stops_the_action(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the draft folder should be")
    session = CurationSession(sample_set(), blocker / "draft.npz")
    with pytest.raises(OSError):
        session.merge([0, 1])
    assert session.state == sample_set() and session.history == () and not session.can_undo
    session.draft_path = tmp_path / "draft.npz"
    session.merge([0, 1])
    assert session.save_draft() == tmp_path / "draft.npz"
    with pytest.raises(CurationError, match="no draft path"):
        CurationSession(sample_set()).save_draft()
    with pytest.raises(CurationError, match="curates a RoiSet"):
        CurationSession(np.zeros((2, 4, 4), bool))
