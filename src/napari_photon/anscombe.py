"""Generalized Anscombe variance-stabilizing transform and its unbiased inverse.

The data model is Poisson-Gaussian in digitizer levels::

    x = gain * photons + offset + N(0, sigma**2)

with ``photons ~ Poisson(lambda)``, ``gain`` in digitizer levels per photon, ``offset``
the level recorded without light and ``sigma`` the read noise in levels. The forward
transform maps ``x`` to values whose noise has unit variance (for ``lambda`` of a few
photons and up); the inverse is the closed-form approximation of the exact unbiased
inverse of Makitalo & Foi (2011, 2013), so that the inverse of a *mean* of transformed
values is an unbiased estimate of the mean signal.

Accuracy (measured against exact numerical expectations): for pure Poisson data the
stabilized variance is within 0.02 of 1 from 3 photons on and the inverse of the mean is
within 0.5% from 1 photon on. With read noise (``sigma / gain`` = 1.14 photons) the
variance overshoots at low counts (1.11 at 1 photon, 1.075 at 3, 1.035 at 5) and the
closed-form inverse, which only subtracts ``s**2`` from the Poisson one, is biased low by
3.2% at 1 photon, 1.1% at 2 and 0.4% at 3.

Both functions are elementwise and use only ``np.sqrt``/``np.maximum``/``np.where`` and
arithmetic, which dispatch to dask: a dask array in gives a lazy dask array out.

References
----------
M. Makitalo and A. Foi, "Optimal inversion of the generalized Anscombe transformation
for Poisson-Gaussian noise", IEEE Trans. Image Process. 22(1), 91-103, 2013.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["generalized_anscombe", "generalized_inverse_anscombe"]

_SQRT_3_2 = float(np.sqrt(1.5))


def _as_float32(x: Any) -> Any:
    """Cast numpy/dask arrays, sequences or scalars to float32 without computing dask."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float32, copy=False)
    if hasattr(x, "astype"):  # dask arrays and numpy scalars
        return x.astype(np.float32)
    if isinstance(x, (list, tuple)):
        return np.asarray(x, dtype=np.float32)
    return np.float32(x)


def generalized_anscombe(
    x: Any, gain: float = 1.0, offset: float = 0.0, sigma: float = 0.0
) -> Any:
    """Generalized Anscombe transform of Poisson-Gaussian data.

    Parameters
    ----------
    x : array_like
        Data in digitizer levels (numpy array, dask array or scalar).
    gain : float, optional
        Digitizer levels per photon (must be > 0).
    offset : float, optional
        Level recorded without light.
    sigma : float, optional
        Standard deviation of the Gaussian read noise, in levels.

    Returns
    -------
    array_like
        ``(2 / gain) * sqrt(max(gain * x + 3/8 * gain**2 + sigma**2 - gain * offset, 0))``
        as float32; lazy (dask) when ``x`` is a dask array. The result has approximately
        unit noise variance.

    Raises
    ------
    ValueError
        If ``gain`` is not positive.
    """
    if not gain > 0:
        raise ValueError(f"gain must be positive, got {gain!r}")
    g, c = np.float32(gain), np.float32(0.375 * gain**2 + sigma**2 - gain * offset)
    if isinstance(x, np.ndarray):
        # one float32 buffer, transformed in place: movies stream through here block by
        # block, and temporaries would multiply the memory of each block
        out = np.array(x, dtype=np.float32, copy=True)
        out *= g
        out += c
        np.maximum(out, np.float32(0), out=out)
        np.sqrt(out, out=out)
        out *= np.float32(2.0) / g
        return out
    xf = _as_float32(x)
    return _as_float32((np.float32(2.0) / g) * np.sqrt(np.maximum(g * xf + c, np.float32(0))))


def generalized_inverse_anscombe(
    y: Any, gain: float = 1.0, offset: float = 0.0, sigma: float = 0.0
) -> Any:
    """Closed-form approximation of the exact unbiased inverse (Makitalo & Foi 2013).

    With ``s = sigma / gain``, the signal in photons is::

        max(0, y**2/4 + sqrt(3/2)/(4 y) - 11/(8 y**2) + 5 sqrt(3/2)/(8 y**3) - 1/8 - s**2)

    and the result is returned in levels, ``photons * gain + offset``.

    Parameters
    ----------
    y : array_like
        Values in units of :func:`generalized_anscombe` (typically local means of them).
    gain, offset, sigma : float, optional
        The same parameters as used for the forward transform.

    Returns
    -------
    array_like
        Unbiased estimate of the mean signal, in levels, float32; lazy for dask input.
        Where ``y <= 0`` the result is ``offset`` (no division warnings).

    Raises
    ------
    ValueError
        If ``gain`` is not positive.
    """
    if not gain > 0:
        raise ValueError(f"gain must be positive, got {gain!r}")
    yf = _as_float32(y)
    positive = yf > 0
    # Replace y <= 0 by 1 before dividing so no warnings arise; those entries are masked.
    ys = np.where(positive, yf, np.float32(1.0))
    inv = np.float32(1.0) / ys
    photons = (
        np.float32(0.25) * ys * ys
        + np.float32(0.25 * _SQRT_3_2) * inv
        - np.float32(11.0 / 8.0) * inv * inv
        + np.float32(0.625 * _SQRT_3_2) * inv * inv * inv
        - np.float32(0.125 + (sigma / gain) ** 2)
    )
    photons = np.where(positive, np.maximum(photons, np.float32(0)), np.float32(0))
    return _as_float32(photons * np.float32(gain) + np.float32(offset))
