"""New parameter sets take the next free id, imported sets' ids included."""

from __future__ import annotations

import pytest


def _add_imported_set(table) -> int:
    taken = max(int(k) for k in table.to_arrays("motion_params_id")) + 1
    table.insert1({"motion_params_id": taken, "method": "imported",
                   "params": {"imported_from": "suite2p"}, "description": "an import"})
    return taken


def test_a_set_from_the_form_takes_an_id_above_imported_sets(pipeline):
    """Imported sets are not listed as runnable, but their ids are taken: a set added from
    the process dock's form after an import gets the next free id."""
    from napari_photon.browse import ensure_parameter_set, parameter_sets

    table = pipeline.MotionParams()
    base = parameter_sets(table)[0]
    imported = _add_imported_set(table)

    new = ensure_parameter_set(table, {**base.params, "reference_frames": 23}, base)
    assert new.key == {"motion_params_id": imported + 1}
    assert (table & {"motion_params_id": imported}).fetch1("method") == "imported"


def test_the_next_id_is_one_above_every_row(pipeline):
    from napari_photon.pipeline._parameter_ids import insert_with_next_id

    table = pipeline.MotionParams()
    imported = _add_imported_set(table)
    key = insert_with_next_id(table, {"method": "rigid", "params": {}, "description": "next"})
    assert key == {"motion_params_id": imported + 1}
    assert (table & key).fetch1("description") == "next"


class _ReadsBeforeAnotherClient:
    """A parameter table whose first ``n_stale`` id reads miss every row above id 1, as if
    another client inserted them between this client's read and its insert."""

    def __init__(self, table, n_stale: int):
        self._table = table
        self._stale = n_stale

    def __getattr__(self, name):
        return getattr(self._table, name)

    def proj(self):
        if self._stale:
            self._stale -= 1
            return self._table.proj() & "motion_params_id < 2"
        return self._table.proj()


def test_a_taken_id_is_retried_with_the_next(pipeline):
    from napari_photon.pipeline._parameter_ids import insert_with_next_id

    table = pipeline.MotionParams()
    imported = _add_imported_set(table)
    racing = _ReadsBeforeAnotherClient(table, n_stale=1)
    key = insert_with_next_id(racing, {"method": "rigid", "params": {}, "description": "x"})
    assert key == {"motion_params_id": imported + 1}


def test_a_taken_id_inside_a_transaction_rolls_it_back(pipeline):
    """Inside a transaction a collision is not retried (PostgreSQL aborts the transaction
    at the failed insert): the DuplicateError reaches the caller and nothing is kept."""
    from datajoint.errors import DuplicateError

    from napari_photon.pipeline._parameter_ids import insert_with_next_id

    table = pipeline.MotionParams()
    _add_imported_set(table)
    before = len(table)
    racing = _ReadsBeforeAnotherClient(table, n_stale=5)
    with pytest.raises(DuplicateError), table.connection.transaction:
        table.insert1({"motion_params_id": 1000, "method": "rigid", "params": {},
                       "description": "kept only if the transaction commits"})
        insert_with_next_id(racing, {"method": "rigid", "params": {}})
    assert len(table) == before
