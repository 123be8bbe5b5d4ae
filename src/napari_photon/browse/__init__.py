"""Browsing and processing a pipeline from Python: the models behind the napari docks.

No Qt and no napari here: the widgets in ``napari_photon._widgets`` call these, and so can
scripts and tests.

* Connecting: :class:`ConnectionSettings`, :func:`connect_default` (embedded or configured
  server), :func:`connect_server`, :func:`save_settings` (DataJoint's ``datajoint.json``
  plus ``.secrets/``).
* Schemas: :func:`discover_schemas` lists the schemas whose tables hold ``<photon@>``
  columns.
* The tree: :func:`load_tree` gives Mouse -> Session -> Recording nodes with the status of
  downstream tables, restricted by a :class:`KeyFilter` parsed from the filter box.
* Opening: :func:`open_recording` and :func:`recording_layers` give lazy layer data.
* Curating: :func:`load_curation` and :class:`CurateModel` (the Curate ROIs dock).
* Processing: :func:`steps`, :func:`preview`, :func:`commit`, run with progress and cancel
  by :func:`iterate_progress`.
"""

from ._connection import ConnectionFailed, ConnectionInfo, connect_default, connect_server
from ._curate import (
    LABEL_COLORS,
    LABELS,
    CurateModel,
    CurationInputs,
    TraceStore,
    curation_versions,
    draft_parent,
    draft_path,
    draft_source,
    load_curation,
    metric_colors,
)
from ._filter import FilterError, KeyFilter, filterable_attributes
from ._generic import RowNode, TableNode, load_tables, row_layers
from ._open import (
    DISPLAYS,
    METADATA_KEY,
    OpenedRecording,
    layer_metadata,
    movie_view,
    open_recording,
    recording_key,
    recording_label,
    recording_layers,
)
from ._params import (
    ParameterField,
    ParameterSet,
    ensure_parameter_set,
    enum_choices,
    json_attribute,
    parameter_fields,
    parameter_sets,
)
from ._preview import FrameReader, preview_layers
from ._process import (
    committed_layers,
    STEP_TITLES,
    AlreadyStored,
    Preview,
    ProcessStep,
    commit,
    describe_key,
    preview,
    process_key,
    steps,
    upstream_keys,
)
from ._runner import Progress, iterate_progress
from ._schemas import SchemaInfo, activate_schema, default_schema, discover_schemas, photon_columns
from ._settings import BACKENDS, ConnectionSettings, SavedSettings, save_settings
from ._tree import (
    MouseNode,
    PipelineTables,
    RecordingNode,
    RecordingStatus,
    SessionNode,
    load_tree,
)

__all__ = [
    "LABEL_COLORS",
    "LABELS",
    "CurateModel",
    "CurationInputs",
    "TraceStore",
    "curation_versions",
    "draft_parent",
    "draft_path",
    "draft_source",
    "load_curation",
    "metric_colors",
    "BACKENDS",
    "DISPLAYS",
    "METADATA_KEY",
    "AlreadyStored",
    "ConnectionFailed",
    "ConnectionInfo",
    "ConnectionSettings",
    "FilterError",
    "FrameReader",
    "KeyFilter",
    "MouseNode",
    "OpenedRecording",
    "ParameterField",
    "ParameterSet",
    "PipelineTables",
    "Preview",
    "ProcessStep",
    "Progress",
    "RecordingNode",
    "RecordingStatus",
    "RowNode",
    "SavedSettings",
    "SchemaInfo",
    "SessionNode",
    "TableNode",
    "activate_schema",
    "commit",
    "connect_default",
    "connect_server",
    "default_schema",
    "describe_key",
    "discover_schemas",
    "ensure_parameter_set",
    "enum_choices",
    "filterable_attributes",
    "iterate_progress",
    "json_attribute",
    "layer_metadata",
    "load_tables",
    "load_tree",
    "movie_view",
    "open_recording",
    "parameter_fields",
    "parameter_sets",
    "photon_columns",
    "preview",
    "preview_layers",
    "process_key",
    "recording_key",
    "recording_label",
    "recording_layers",
    "row_layers",
    "save_settings",
    "steps",
    "committed_layers",
    "STEP_TITLES",
    "upstream_keys",
]
