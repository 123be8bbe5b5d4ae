"""``browse.iterate_progress``: a pipeline call's progress as a generator."""

from __future__ import annotations

import threading

import pytest
from conftest import drain


def test_reports_come_out_and_result_returns():
    from napari_photon.browse import Progress, iterate_progress
    from napari_photon.pipeline._progress import stage

    def call():
        report = stage("work")
        for i in range(1, 4):
            report(i, 3)
        return threading.current_thread().name

    reports, value = drain(iterate_progress(call))
    assert reports == [Progress("work", i, 3) for i in (1, 2, 3)]
    assert reports[-1].fraction == 1.0
    assert value == "napari-photon-process"  # ran in the helper thread


def test_cancel_and_errors_reach_the_consumer():
    from napari_photon.browse import iterate_progress
    from napari_photon.pipeline._progress import stage
    from napari_photon.storage import Cancelled

    stop = threading.Event()

    def call():
        report = stage("work")
        for i in range(1, 1000):
            if i == 3:
                stop.set()
            report(i, 999)
        return "finished"

    generator = iterate_progress(call, cancel=stop.is_set)
    with pytest.raises(Cancelled):
        drain(generator)

    def broken():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        drain(iterate_progress(broken))


def test_out_of_order_reports_only_move_forward():
    from napari_photon.browse import iterate_progress
    from napari_photon.pipeline._progress import stage

    def call():
        report = stage("parallel")
        for done in (20, 40, 80, 60):  # as threads finishing out of order report
            report(done, 80)
        stage("next")(1, 2)

    reports, _ = drain(iterate_progress(call))
    assert [(r.stage, r.done) for r in reports] == [
        ("parallel", 20),
        ("parallel", 40),
        ("parallel", 80),
        ("next", 1),
    ]
