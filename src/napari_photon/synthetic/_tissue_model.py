"""The parameters of the realistic tissue simulator, each with its source or range.

Pixel scale: about 1 um per pixel (a 384 x 384 frame is a ~400 um field, a 16x objective
at zoom ~2). Frame rate 30 Hz. Every feature can be switched off (a count or fraction of
0, an amplitude of 0, ``active_neuropil=False``) to ablate it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seeds the detector's defaults were tuned on. Never report benchmark figures on these.
TUNING_SEEDS: tuple[int, ...] = (101, 102, 103)
#: Held-out seeds of the detection benchmark (``benchmarks/bench_tissue.py``).
BENCHMARK_SEEDS: tuple[int, ...] = (201, 202, 203)


@dataclass(frozen=True)
class TissueModel:
    """What a simulated field of view holds (defaults: layer 2/3 of mouse cortex, GCaMP6).

    Attributes
    ----------
    n_cells : int
        In-focus somata in the frame (the cells to report): 140 per 384 x 384, about 900
        per mm^2 of imaging plane, within the 500-1,500 reported for L2/3 fields.
    radius : (float, float)
        Soma radius range, px (10-15 um somata).
    donut_fraction : float
        Share of nucleus-excluded (donut) somata: GCaMP is cytosolic, the nucleus is dark
        in most healthy cells (Chen et al. 2013; Tian et al. 2009).
    nucleus_size, nucleus_brightness : (float, float)
        Nucleus radius as a fraction of the soma's, and its brightness as a fraction of
        the cytoplasm's.
    overlap_fraction : float
        Share of somata that come as an overlapping pair (cells at slightly different
        depths within the point-spread function's ~2-5 um axial extent).
    overlap_area : (float, float)
        Overlap of a pair as a fraction of the smaller cell's area.
    silent_fraction : float
        Share of visible cells that never fire during the movie (sparse L2/3 firing,
        Barth & Poulet 2012: many cells fire < 0.1 Hz).
    very_active_fraction, very_active_hz : float, (float, float)
        Share of cells firing at a high rate, and that rate.
    rate_hz : (float, float)
        Firing rate of the other cells, log-uniform.
    dff_per_spike : (float, float)
        Peak dF/F of one spike (GCaMP6s in vivo ~0.2-0.3, GCaMP6f ~0.1-0.2; Chen et al.
        2013), relative to the cell's raw resting fluorescence (its own plus the
        neuropil in front of it), as dF/F is measured.
    decay_s : (float, float)
        Calcium decay time constant, s (GCaMP6f ~0.4, GCaMP6s ~1-1.5).
    resting_contrast : (float, float)
        A soma's resting brightness over the local neuropil, log-uniform: down to
        noise level (dim, low-expression cells), up to twice the surroundings.
    baseline : (float, float)
        Tissue (neuropil) photons per pixel per frame: 1-6 at typical two-photon rates.
    neuropil_sources, neuropil_size, neuropil_dff : int, (float, float), (float, float)
        Active neuropil: out-of-focus cells and processes seen as smooth blobs (Gaussian
        sigma ``neuropil_size`` px) with their own calcium activity of dF/F
        ``neuropil_dff`` (neuropil dF/F of ~5-20% with correlated local structure;
        Kerlin et al. 2010, Lee et al. 2017).
    active_neuropil : bool
        False: the neuropil is static (ablation).
    out_of_focus, out_of_focus_blur : int, (float, float)
        Somata above or below the plane, seen as blurred active blobs (Gaussian blur,
        px): not cells to report.
    processes, process_length : int, (float, float)
        Dendrites and axons crossing the plane: thin (1-2 px) curved segments, active.
    vessels, vessel_width : int, (float, float)
        Blood vessels: dark tubes (transmission down to 10-30%) that hold no cells.
    vignetting : float
        Brightness lost at the frame's corners (objective and scan-path vignetting).
    bleaching, drift : float
        Fraction of brightness lost over the movie (exponential), and the amplitude of a
        slow multiplicative brightness drift.
    max_shift, nonrigid : float
        Rigid motion bound and largest non-rigid displacement, px.
    jump_rate, jump_size : float
        Sudden rigid steps per second and their size as a fraction of ``max_shift``.
    """

    n_cells: int = 140
    radius: tuple[float, float] = (5.0, 7.5)
    donut_fraction: float = 0.5
    nucleus_size: tuple[float, float] = (0.45, 0.65)
    nucleus_brightness: tuple[float, float] = (0.05, 0.3)
    overlap_fraction: float = 0.2
    overlap_area: tuple[float, float] = (0.1, 0.3)
    silent_fraction: float = 0.15
    very_active_fraction: float = 0.05
    very_active_hz: tuple[float, float] = (2.0, 5.0)
    rate_hz: tuple[float, float] = (0.05, 1.0)
    dff_per_spike: tuple[float, float] = (0.1, 0.4)
    decay_s: tuple[float, float] = (0.4, 1.5)
    resting_contrast: tuple[float, float] = (0.05, 2.0)
    baseline: tuple[float, float] = (1.0, 6.0)
    neuropil_sources: int = 40
    neuropil_size: tuple[float, float] = (10.0, 30.0)
    neuropil_dff: tuple[float, float] = (0.05, 0.2)
    active_neuropil: bool = True
    out_of_focus: int = 50
    out_of_focus_blur: tuple[float, float] = (2.5, 5.0)
    processes: int = 60
    process_length: tuple[float, float] = (20.0, 80.0)
    vessels: int = 2
    vessel_width: tuple[float, float] = (6.0, 14.0)
    vignetting: float = 0.35
    bleaching: float = 0.15
    drift: float = 0.03
    max_shift: float = 6.0
    nonrigid: float = 2.0
    jump_rate: float = 0.2
    jump_size: float = 0.25
    frame_rate: float = 30.0
