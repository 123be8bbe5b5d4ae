"""Ground-truth synthetic two-photon movies: photon counts with known cells and motion.

The scene is a smooth background plus elliptic somata whose fluorescence follows
calcium transients. Every frame shows the noiseless scene (expected photons per pixel)
translated by a rigid sub-pixel shift (bilinear interpolation on a padded canvas, so no
wrap-around), optionally warped by a smooth non-rigid displacement field on top of it
(``nonrigid=``), and is then Poisson sampled. :func:`make_hard_movie` gives the denser,
dimmer, faster-moving benchmark variant. :func:`make_tissue_movie` simulates realistic
tissue instead (:class:`TissueModel`: donut and overlapping somata, active neuropil,
out-of-focus somata, processes, vessels, vignetting, bleaching; its ground truth in
:class:`TissueMovie`). Everything is generated from one seeded
``numpy.random.Generator`` in batches of frames, so memory stays a small multiple of
the output.

One concept per module: ``_ground_truth`` (:class:`SyntheticMovie`), ``_scene`` (background
and somata), ``_activity`` (calcium traces), ``_motion`` (rigid walk and non-rigid warp),
``_rendering`` (moving and Poisson sampling the scene), ``_generate`` (the ``make_*``
functions), ``_tissue_model``, ``_tissue_scene`` and ``_tissue`` (the realistic tissue
simulator) and ``_tiff`` (:func:`write_tiff`).
"""

from ._generate import HARD, make_hard_movie, make_movie, make_volume
from ._ground_truth import SyntheticMovie, SyntheticVolume
from ._tissue import TissueMovie, make_tissue_movie
from ._tissue_model import BENCHMARK_SEEDS, TUNING_SEEDS, TissueModel
from ._tiff import write_tiff

__all__ = [
    "BENCHMARK_SEEDS",
    "HARD",
    "SyntheticMovie",
    "SyntheticVolume",
    "TUNING_SEEDS",
    "TissueModel",
    "TissueMovie",
    "make_hard_movie",
    "make_movie",
    "make_tissue_movie",
    "make_volume",
    "write_tiff",
]
