"""Holding a window's animated labels still while a long run is shown.

napari's status bar shows an animated "in progress" indicator (a ``QMovie`` in a
``QLabel``, 34 frames a second) while any progress bar is open. In a window that holds
an OpenGL canvas, Qt composes the whole window for every repaint, even of an 18-pixel
label; with software OpenGL (Mesa llvmpipe: remote desktops, virtual machines, CI) each
composition costs tens of milliseconds of the user-interface thread. Measured during a
Populate-all run of the dock on this project's 2-core test machine: ticks of a 10 ms
timer came every 31.5 ms (median) with the indicator animated, every 10.1 ms with it
held. The progress bars still move, so nothing is lost by holding it.

Only public Qt calls on the dock's own top-level window are used; animations this object
paused are resumed when it is released (napari stops the indicator itself once its last
progress bar closes).
"""

from __future__ import annotations

from qtpy.QtGui import QMovie
from qtpy.QtWidgets import QLabel, QWidget


class AnimationHold:
    """Pause the running ``QMovie`` animations of the labels in ``window``.

    Parameters
    ----------
    window : QWidget
        The top-level window whose labels are looked at (``widget.window()``).
    """

    def __init__(self, window: QWidget) -> None:
        self._window = window
        self._paused: list[QMovie] = []

    def hold(self) -> int:
        """Pause every animation of the window that is running now; how many were.

        Cheap enough to call often: a run's progress bars (and with them napari's
        indicator) may start after the run did.
        """
        count = 0
        for label in self._window.findChildren(QLabel):
            movie = label.movie()
            if movie is not None and movie.state() == QMovie.MovieState.Running:
                movie.setPaused(True)
                if movie not in self._paused:
                    self._paused.append(movie)
                count += 1
        return count

    def release(self) -> None:
        """Resume the animations this hold paused (those still paused)."""
        for movie in self._paused:
            try:
                if movie.state() == QMovie.MovieState.Paused:
                    movie.setPaused(False)
            except RuntimeError:  # the label and its movie were deleted meanwhile
                pass
        self._paused.clear()

    @property
    def paused(self) -> int:
        """How many animations this hold has paused (and not released)."""
        return len(self._paused)
