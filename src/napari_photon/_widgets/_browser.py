"""The pipeline browser dock: connect, pick a schema, filter, browse and open recordings."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from .. import browse
from ._changes import pipeline_changes
from ._connection_panel import ConnectionPanel
from ._recording_tree import RecordingTree
from ._worker import WorkerPool, readable, show_message

if TYPE_CHECKING:
    import napari

__all__ = ["PipelineBrowser"]

_FILTER_HINT = "e.g. 1   or   mouse_id=1|2 session_date=2024-01-15 recording_num=2"


class PipelineBrowser(QWidget):
    """Browse a DataJoint pipeline and open its recordings as lazy napari layers.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer the recordings open in.

    Signals
    -------
    schemasLoaded(list)
        The :class:`~napari_photon.browse.SchemaInfo` list after connecting.
    treeLoaded(int)
        Number of openable nodes after the tree was (re)loaded.
    recordingOpened(list)
        The layers added by one open.
    errorShown(str)
        An error message was shown in the dock (and as a napari notification).
    """

    schemasLoaded = Signal(list)
    treeLoaded = Signal(int)
    recordingOpened = Signal(list)
    errorShown = Signal(str)

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.schemas: list[browse.SchemaInfo] = []
        self.tables: browse.PipelineTables | None = None
        self.pipeline: Any = None  # the Pipeline shown, when the schema is one
        self.schema: browse.SchemaInfo | None = None
        self._pool = WorkerPool(self._set_busy)
        # layers this browser opened, with the movie behind each (photon-count toggle)
        self._movies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._tree_request = 0

        self.connection = ConnectionPanel()
        self.connection.connected.connect(self._connected)

        self.schema_box = QComboBox()
        self.schema_box.setToolTip("Schemas on the server whose tables hold <photon@> columns")
        self.schema_box.currentIndexChanged.connect(self._schema_chosen)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        schema_row = QHBoxLayout()
        schema_row.addWidget(QLabel("Schema"))
        schema_row.addWidget(self.schema_box, 1)
        schema_row.addWidget(self.refresh_button)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter: " + _FILTER_HINT)
        self.filter_edit.setToolTip(
            "Key values, never SQL: attribute=value (value|value for either), separated by "
            "spaces; a bare value is a mouse id.\n" + _FILTER_HINT
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.returnPressed.connect(self.refresh)
        self.filter_edit.textEdited.connect(self._filter_edited)
        self.filter_message = QLabel()
        self.filter_message.setWordWrap(True)
        self.filter_message.setVisible(False)

        self.tree = RecordingTree()
        self.tree.openRequested.connect(self.open_nodes)

        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the selected recordings as lazy layers")
        self.open_button.clicked.connect(lambda: self.open_nodes(self.tree.selected_nodes()))
        self.photons_box = QCheckBox("Photon counts")
        self.photons_box.setToolTip(
            "Show movies as photon counts instead of variance-stabilized values"
        )
        self.photons_box.toggled.connect(self._display_changed)
        open_row = QHBoxLayout()
        open_row.addWidget(self.open_button)
        open_row.addWidget(self.photons_box)
        open_row.addStretch(1)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.connection)
        layout.addLayout(schema_row)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.filter_message)
        layout.addWidget(self.tree, 1)
        layout.addLayout(open_row)
        layout.addWidget(self.message)
        self._set_busy(False)
        pipeline_changes().changed.connect(self._on_pipeline_changed)

    # -- state -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a connection, query or open runs in a worker."""
        return self._pool.busy or self.connection.busy

    @property
    def display(self) -> str:
        return "photons" if self.photons_box.isChecked() else "stabilized"

    def _set_busy(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy and self.schema is not None)
        self.open_button.setEnabled(not busy and self.schema is not None)

    def _error(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else readable(error)
        show_message(self.message, text, error=True, notify=True)
        self.errorShown.emit(text)

    # -- connection and schemas --------------------------------------------------------
    def _connected(self, info: browse.ConnectionInfo) -> None:
        self.tables = self.pipeline = None
        self.schema = None
        self.tree.clear()
        show_message(self.message, "Looking for schemas with <photon@> columns…")
        self._pool.start(
            browse.discover_schemas,
            info.connection,
            returned=self._schemas_found,
            errored=self._error,
        )

    def _schemas_found(self, schemas: list[browse.SchemaInfo]) -> None:
        self.schemas = list(schemas)
        chosen = browse.default_schema(self.schemas)
        self.schema_box.blockSignals(True)
        self.schema_box.clear()
        for schema in self.schemas:
            self.schema_box.addItem(schema.label, schema.name)
        self.schema_box.blockSignals(False)
        if not self.schemas:
            show_message(
                self.message,
                "No schema on this server holds <photon@> columns yet; run "
                "`napari-photon demo` or populate a pipeline first.",
            )
        else:
            show_message(self.message, "")
        self.schemasLoaded.emit(self.schemas)
        if chosen is not None:
            self.select_schema(chosen)

    def select_schema(self, name: str) -> None:
        """Show schema ``name`` (binding the pipeline to it when it is a pipeline)."""
        index = self.schema_box.findData(name)
        if index < 0:
            self._error(f"schema {name!r} is not among the schemas with <photon@> columns")
            return
        if index != self.schema_box.currentIndex():
            self.schema_box.setCurrentIndex(index)  # -> _schema_chosen
        else:
            self._schema_chosen(index)

    def _schema_chosen(self, index: int) -> None:
        if index < 0 or index >= len(self.schemas) or self.connection.info is None:
            return
        schema = self.schemas[index]
        self.schema = schema
        self.tables = self.pipeline = None
        if schema.is_pipeline:
            connection = self.connection.info.connection

            def job() -> tuple:
                opened = browse.activate_schema(connection, schema)
                return opened, browse.PipelineTables.from_pipeline(opened)

            self._pool.start(job, returned=self._activated, errored=self._error)
        else:
            self.refresh()

    def _activated(self, opened: tuple) -> None:
        self.pipeline, self.tables = opened
        self.refresh()
        pipeline_changes().opened.emit(self.pipeline)

    # -- the tree ----------------------------------------------------------------------
    def key_filter(self) -> browse.KeyFilter:
        """The filter box parsed (raises FilterError)."""
        if self.tables is not None:
            attributes = self.tables.filter_attributes()
        elif self.schema is not None and self.connection.info is not None:
            import datajoint as dj

            connection = self.connection.info.connection
            attributes = browse.filterable_attributes(
                dj.FreeTable(connection, name.replace('"', "").replace("`", ""))
                for name in self.schema.photon_tables
            )
        else:
            attributes = {}
        bare = "mouse_id" if "mouse_id" in attributes else next(iter(attributes), "mouse_id")
        return browse.KeyFilter.parse(self.filter_edit.text(), attributes, bare=bare)

    @qdebounced(timeout=400)
    def _filter_edited(self, _text: str = "") -> None:
        self.refresh()

    def refresh(self) -> None:
        """Reload the tree (with the filter) in a worker."""
        if self.schema is None or self.connection.info is None:
            return
        if self.schema.is_pipeline and self.tables is None:
            return  # activation in progress; it refreshes when done
        try:
            key_filter = self.key_filter()
        except browse.FilterError as err:
            show_message(self.filter_message, str(err), error=True)
            return
        show_message(self.filter_message, "")
        self._tree_request += 1
        request = self._tree_request
        if self.tables is not None:
            job, args = browse.load_tree, (self.tables, key_filter)
        else:
            job, args = (
                browse.load_tables,
                (self.connection.info.connection, self.schema, key_filter),
            )
        self._pool.start(
            job,
            *args,
            returned=lambda nodes: self._tree_loaded(request, nodes),
            errored=self._error,
        )

    def _on_pipeline_changed(self, schema: str, origin: object) -> None:
        """A dock stored rows: reload the tree's status when it shows that schema."""
        if self.schema is not None and schema in ("", self.schema.name):
            self.refresh()

    def _tree_loaded(self, request: int, nodes: list) -> None:
        if request != self._tree_request:
            return  # a newer filter is on its way
        if self.tables is not None:
            self.tree.show_pipeline(nodes)
        else:
            self.tree.show_tables(nodes)
        count = len(self.tree.openable())
        empty = (
            "Nothing matches the filter." if self.filter_edit.text().strip() else "No recordings."
        )
        show_message(self.message, "" if count else empty)
        self.treeLoaded.emit(count)

    # -- opening -----------------------------------------------------------------------
    def open_nodes(self, nodes: list) -> None:
        """Open recordings (or rows) as layers; data is fetched in a worker."""
        for node in nodes:
            self.open_node(node)

    def open_node(self, node: Any) -> None:
        display = self.display
        if isinstance(node, browse.RecordingNode):
            if self.tables is None:
                return
            tables = self.tables

            def job() -> list:
                opened = browse.open_recording(tables, node.kind, node.key)
                return [(opened, browse.recording_layers(opened, display))]

        elif isinstance(node, browse.RowNode) and self.connection.info is not None:
            connection = self.connection.info.connection

            def job() -> list:
                return [(None, browse.row_layers(connection, node, display))]

        else:
            return
        show_message(self.message, f"Opening {getattr(node, 'label', node)}…")
        self._pool.start(job, returned=self._add_layers, errored=self._error)

    def _add_layers(self, results: list) -> None:
        from napari.layers import Layer

        added = []
        for opened, layer_data in results:
            for data, kwargs, layer_type in layer_data:
                layer = self.viewer.add_layer(Layer.create(data, kwargs, layer_type))
                info = layer.metadata.get(browse.METADATA_KEY, {})
                movie = self._movie_for(opened, info)
                if movie is not None:
                    self._movies[layer] = movie
                added.append(layer)
        if added:
            shown = [layer for layer in added if layer.visible]
            self.viewer.layers.selection.active = shown[0] if shown else added[0]
        show_message(self.message, f"Opened {len(added)} layers." if added else "")
        self.recordingOpened.emit(added)

    @staticmethod
    def _movie_for(opened: browse.OpenedRecording | None, info: dict) -> Any:
        if opened is None:
            return None
        role = info.get("role")
        if role == "raw":
            return opened.movie
        if role == "corrected":
            return opened.corrected
        return None

    # -- display -----------------------------------------------------------------------
    def _display_changed(self) -> None:
        display = self.display
        layers = [layer for layer in list(self._movies) if layer in self.viewer.layers]
        movies = [self._movies[layer] for layer in layers]

        def job() -> list:
            return [browse.movie_view(movie, display) for movie in movies]

        def apply(views: list) -> None:
            for layer, (data, limits) in zip(layers, views, strict=True):
                layer.data = data
                layer.contrast_limits_range = limits
                layer.contrast_limits = limits
                layer.metadata.setdefault(browse.METADATA_KEY, {})["display"] = display

        if layers:
            self._pool.start(job, returned=apply, errored=self._error)
