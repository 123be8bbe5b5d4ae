"""``ActivityParams`` and ``Activity``: deconvolved events of each ROI's dF/F.

As element-calcium-imaging's ``Activity``: a master row per ROI set and parameter set,
with a part row (``Activity.Trace``) per ROI holding its inferred events. The inference
itself is :func:`napari_photon.spikes.deconvolve_traces` (OASIS).
"""

from __future__ import annotations

import datajoint as dj
import numpy as np

from .. import spikes
from ..storage import DryRunTable
from ._progress import stage

#: frame rate (Hz) used when neither the parameters nor the recording give one: the
#: design document's ``Recording.make`` value
DEFAULT_FRAME_RATE = 30.0


def declare_activity(schema: dj.Schema, upstream: dict[str, type]) -> dict[str, type]:
    """Declare ``ActivityParams`` and ``Activity`` (with its part ``Activity.Trace``).

    Parameters
    ----------
    schema : datajoint.Schema
    upstream : dict
        The tables declared before (``Recording``, ``ROI``, ``Trace``).
    """
    Recording = upstream["Recording"]  # noqa: N806
    ROI = upstream["ROI"]  # noqa: N806 - resolves "-> ROI"
    Trace = upstream["Trace"]  # noqa: N806 - resolves "-> Trace" in the part

    @schema
    class ActivityParams(dj.Lookup):
        definition = """
        activity_params_id : int32
        ---
        method : enum('oasis')
        params : json                 # keyword arguments of spikes.deconvolve_traces (and frame_rate)
        description='' : varchar(255)
        """
        contents = [
            {
                "activity_params_id": 1,
                "method": "oasis",
                "params": {},
                "description": "OASIS AR(1) on dF/F, decay estimated per ROI, L1 penalty",
            }
        ]

    @schema
    class Activity(DryRunTable, dj.Computed):
        definition = """
        # deconvolved events of an ROI set's dF/F traces
        -> ROI
        -> ActivityParams
        ---
        frame_rate : float            # Hz the events were inferred at
        """

        class Trace(dj.Part):
            definition = """
            # one ROI's inferred events
            -> master
            -> Trace
            ---
            events : <blob>               # (n_frames,) inferred spike amplitudes, dF/F units, >= 0
            denoised=null : <blob>        # (n_frames,) the fitted calcium (dF/F) trace
            decay_s=null : float32        # calcium decay time, seconds
            noise=null : float32          # noise SD of the dF/F trace
            """

        @property
        def key_source(self):
            """ROI sets whose traces are made, with every parameter set."""
            return (ROI & Trace).proj() * ActivityParams.proj()

        def make(self, key):
            rows = (Trace & key).to_dicts(order_by="roi_id")
            missing = [r["roi_id"] for r in rows if r["dff"] is None]
            if missing:
                raise ValueError(f"Trace rows {missing} of {key} have no dff; "
                                 "re-populate Trace to infer their activity")
            params = dict((ActivityParams & key).fetch1("params"))
            frame_rate = params.pop("frame_rate", None)
            if frame_rate is None:
                frame_rate = (Recording & key).fetch1("frame_rate") or DEFAULT_FRAME_RATE
            dff = np.stack([np.asarray(r["dff"], np.float32) for r in rows])
            found = spikes.deconvolve_traces(dff, float(frame_rate), **params,
                                             progress=stage("spike inference"))
            self.insert1({**key, "frame_rate": float(frame_rate)})
            self.Trace.insert(
                {**key, "roi_id": int(r["roi_id"]), "events": found.events[i],
                 "denoised": found.denoised[i], "decay_s": float(found.decay_s[i]),
                 "noise": float(found.noise[i])}
                for i, r in enumerate(rows)
            )

    return {"ActivityParams": ActivityParams, "Activity": Activity}
