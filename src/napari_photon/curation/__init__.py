"""The model behind interactive ROI curation: pure Python, no Qt, napari or DataJoint.

* :class:`RoiSet` / :class:`CuratedRoi` (``_roiset``): an immutable set of ROIs kept
  sparse (sorted flat pixel indices), with labels, origins, sources and metrics; dense
  masks, a label image and ``roi_at`` on request.
* Actions (``_actions``): pure functions ``RoiSet -> RoiSet`` -- :func:`set_label`,
  :func:`merge`, :func:`split_by_correlation` (``_split``), :func:`split_by_line`,
  :func:`draw`, :func:`erase`, :func:`delete`, :func:`relabel_where` and its preview
  :func:`count_relabel`. Bad input raises :class:`CurationError` (``_errors``).
* Metrics of new ROIs (``_metrics``): the detection's ``roi_metrics``, on a window.
* :class:`CurationSession` (``_session``): unbounded undo/redo, change callbacks, and
  the draft (``_draft``) saved atomically after every change.
* Files: suite2p (``_suite2p``), ImageJ RoiSet zip (``_imagej``), CaImAn HDF5
  (``_caiman``); packed arrays (``_packing``) for drafts and storage.
* :class:`RoiClassifier` (``_classifier``): suggestions learnt from committed curations.

See ``docs/curation-model.md``.
"""

from ._actions import (
    ACTIONS,
    OPERATORS,
    count_relabel,
    delete,
    draw,
    erase,
    merge,
    relabel_where,
    set_label,
    split_by_correlation,
    split_by_line,
)
from ._caiman import read_caiman
from ._classifier import RoiClassifier, trace_features
from ._draft import (
    Draft,
    DraftInfo,
    discard_draft,
    draft_path,
    drafts_for,
    load_draft,
    read_draft_info,
    save_draft,
)
from ._errors import CurationError
from ._imagej import read_imagej, write_imagej
from ._metrics import measure, metric_names
from ._packing import fingerprint, pack, unpack
from ._roiset import LABELS, ORIGINS, CuratedRoi, RoiSet
from ._session import Change, CurationSession
from ._suite2p import read_suite2p, write_suite2p

__all__ = [
    "ACTIONS",
    "LABELS",
    "OPERATORS",
    "ORIGINS",
    "Change",
    "CuratedRoi",
    "CurationError",
    "CurationSession",
    "Draft",
    "DraftInfo",
    "RoiClassifier",
    "RoiSet",
    "count_relabel",
    "delete",
    "discard_draft",
    "draft_path",
    "drafts_for",
    "draw",
    "erase",
    "fingerprint",
    "load_draft",
    "measure",
    "merge",
    "metric_names",
    "pack",
    "read_caiman",
    "read_draft_info",
    "read_imagej",
    "read_suite2p",
    "relabel_where",
    "save_draft",
    "set_label",
    "split_by_correlation",
    "split_by_line",
    "trace_features",
    "unpack",
    "write_imagej",
    "write_suite2p",
]
