"""``Curation`` and ``CuratedTrace``: curated versions of an ROI set, beside it.

A curation never changes ``ROI``: each version is a row of ``Curation`` (numbered per ROI
set) with its masks in ``Curation.Mask``, written whole by :func:`commit_curation`.
``CuratedTrace`` extracts their traces with the same code as ``Trace``.
"""

from __future__ import annotations

import datajoint as dj
import numpy as np

from ..storage import DryRunTable
from ._processing import trace_rows

#: values of ``Curation.Mask.label``
LABELS = ("cell", "not cell", "unsure")
#: values of ``Curation.Mask.origin``: how a mask came from the parent set
ORIGINS = ("detected", "merged", "split", "drawn", "imported")
#: values of ``Curation.parent_kind``: what the version started from
PARENT_KINDS = ("detected", "curation", "suite2p", "imagej", "caiman")


def _enum(values: tuple[str, ...]) -> str:
    return "enum(" + ", ".join(f"'{v}'" for v in values) + ")"


def declare_curation(schema: dj.Schema, upstream: dict[str, type]) -> dict[str, type]:
    """Declare ``Curation`` (with its part ``Curation.Mask``) and ``CuratedTrace``.

    Parameters
    ----------
    schema : datajoint.Schema
    upstream : dict
        The tables declared before (``MotionCorrected``, ``ROI``).
    """
    MotionCorrected = upstream["MotionCorrected"]  # noqa: N806
    ROI = upstream["ROI"]  # noqa: N806 - resolves "-> ROI"

    @schema
    class Curation(dj.Manual):
        definition = f"""
        # a curated version of an ROI set; the ROI row itself never changes
        -> ROI
        curation_id : int32           # 1, 2, ... per ROI set, in the order of commits
        ---
        curator : varchar(64)
        curated_at : datetime
        note='' : varchar(1000)
        parent_curation_id=null : int32   # the version this one started from; null: the ROI set
        parent_kind='detected' : {_enum(PARENT_KINDS)}
        """

        class Mask(dj.Part):
            definition = f"""
            # one ROI of a curated version
            -> master
            roi_id : int32                # index within this version, from 0
            ---
            mask : <blob>                 # (height, width) bool
            label : {_enum(LABELS)}
            origin : {_enum(ORIGINS)}
            sources : <blob>              # roi_ids in the parent set it came from (int array)
            """

    @schema
    class CuratedTrace(DryRunTable, dj.Computed):
        definition = """
        -> Curation
        roi_id : int32                # Curation.Mask's roi_id
        ---
        fluorescence : <blob>         # mean photons per pixel in the mask, per frame
        neuropil=null : <blob>        # (n_frames,) mean photons per pixel in its annulus
        dff=null : <blob>             # (n_frames,) dF/F of the neuropil-corrected fluorescence
        neuropil_coefficient=null : float32  # c of F - c * neuropil, estimated for this mask
        """

        @property
        def key_source(self):
            """Curated versions with at least one mask."""
            return Curation & Curation.Mask

        def make(self, key):
            corrected = (MotionCorrected & key).fetch1("corrected_movie")
            rows = (Curation.Mask & key).to_dicts(order_by="roi_id")
            masks = np.stack([np.asarray(row["mask"], bool) for row in rows])
            self.insert(trace_rows(key, corrected, masks, [row["roi_id"] for row in rows]))

    return {"Curation": Curation, "CuratedTrace": CuratedTrace}
