"""napari sample data (npe2 ``napari-photon.synthetic_sample``): a movie with ground truth."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._viewer_layers import center_frame, contrast_limits, masks_to_labels

__all__ = ["synthetic_sample"]

SAMPLE_FRAMES = 300
SAMPLE_SHAPE = (256, 256)
SAMPLE_NEURONS = 40
SAMPLE_SEED = 0


def synthetic_sample() -> list[tuple[Any, dict, str]]:
    """A seeded synthetic calcium movie and its ground-truth neuron masks.

    Returns two layers: the variance-stabilized movie (Anscombe transform of the photon
    counts, float32, 300 frames of 256 x 256) and the true masks as labels, label ``i + 1``
    for neuron ``i``. The movie moves (rigid motion), the masks are in scene coordinates.
    """
    from .anscombe import generalized_anscombe
    from .synthetic import make_movie

    truth = make_movie(SAMPLE_FRAMES, SAMPLE_SHAPE, n_neurons=SAMPLE_NEURONS, seed=SAMPLE_SEED)
    stabilized = np.asarray(generalized_anscombe(truth.movie), dtype=np.float32)
    metadata = {
        "calibration": {"gain": 1.0, "zero_level": 0.0, "read_noise": 0.0},
        "frame_rate": truth.frame_rate,
        "seed": SAMPLE_SEED,
        "shifts": truth.shifts,
        "traces": truth.traces,
    }
    return [
        (
            stabilized,
            {
                "name": "synthetic movie (stabilized)",
                "contrast_limits": contrast_limits(center_frame(stabilized)),
                "colormap": "gray",
                "rgb": False,
                "metadata": metadata,
            },
            "image",
        ),
        (
            masks_to_labels(truth.masks),
            {
                "name": "ground-truth neurons",
                "opacity": 0.5,
                "metadata": {"n_neurons": int(len(truth.masks)), "seed": SAMPLE_SEED},
            },
            "labels",
        ),
    ]
