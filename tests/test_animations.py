"""AnimationHold: running label animations of a window are paused, then resumed."""

from __future__ import annotations

import pytest
from napari.resources import LOADING_GIF_PATH
from qtpy.QtGui import QMovie
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_photon._widgets._animations import AnimationHold

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    top = QWidget()
    layout = QVBoxLayout(top)
    labels = []
    for _ in range(2):
        label = QLabel(top)
        label.setMovie(QMovie(str(LOADING_GIF_PATH), parent=label))
        layout.addWidget(label)
        labels.append(label)
    layout.addWidget(QLabel("no movie", top))
    qtbot.addWidget(top)
    top.show()
    return top, labels


def test_running_animations_are_held_and_released(window):
    top, (running, idle) = window
    running.movie().start()
    assert running.movie().state() == QMovie.MovieState.Running
    hold = AnimationHold(top)
    assert hold.hold() == 1 and hold.paused == 1
    assert running.movie().state() == QMovie.MovieState.Paused
    assert idle.movie().state() == QMovie.MovieState.NotRunning
    assert hold.hold() == 0 and hold.paused == 1  # already held: counted once
    hold.release()
    assert running.movie().state() == QMovie.MovieState.Running
    assert idle.movie().state() == QMovie.MovieState.NotRunning
    assert hold.paused == 0


def test_an_animation_stopped_meanwhile_stays_stopped(window):
    top, (label, _) = window
    label.movie().start()
    hold = AnimationHold(top)
    hold.hold()
    label.movie().stop()  # napari stops its indicator when its last bar closes
    hold.release()
    assert label.movie().state() == QMovie.MovieState.NotRunning


def test_release_after_the_label_was_deleted(window, qtbot):
    top, (label, _) = window
    label.movie().start()
    hold = AnimationHold(top)
    hold.hold()
    label.deleteLater()
    qtbot.waitUntil(lambda: len(top.findChildren(QLabel)) == 2)
    hold.release()  # no error
    assert hold.paused == 0
