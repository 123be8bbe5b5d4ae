"""A tree view of Mouse -> Session -> Recording nodes (or of a schema's photon tables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from ..browse import MouseNode, RecordingNode, RowNode, TableNode

__all__ = ["STATUS_COLUMNS", "RecordingTree"]

#: status columns after the name and shape columns: (title, RecordingStatus field)
STATUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Motion", "motion"),
    ("ROIs", "rois"),
    ("Traces", "traces"),
    ("Curated", "curated"),
)
_NODE = Qt.ItemDataRole.UserRole


class RecordingTree(QTreeWidget):
    """Shows :class:`~napari_photon.browse.MouseNode` trees with per-recording status.

    Signals
    -------
    openRequested(list)
        Nodes (RecordingNode or RowNode) the user double-clicked or asked to open.
    """

    openRequested = Signal(list)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2 + len(STATUS_COLUMNS))
        self.setHeaderLabels(["Recording", "Shape", *(t for t, _ in STATUS_COLUMNS)])
        self.headerItem().setToolTip(1, "frames x (planes x) height x width")
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setUniformRowHeights(True)
        self.setIndentation(12)
        header = self.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, self.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumWidth(360)
        self.itemDoubleClicked.connect(self._double_clicked)

    # -- filling -----------------------------------------------------------------------
    def show_pipeline(self, mice: Sequence[MouseNode]) -> None:
        """Replace the contents with ``mice`` (expanded down to the recordings)."""
        self.clear()
        for mouse in mice:
            mouse_item = QTreeWidgetItem([mouse.label])
            mouse_item.setData(0, _NODE, mouse)
            for session in mouse.sessions:
                session_item = QTreeWidgetItem([session.label])
                session_item.setData(0, _NODE, session)
                for recording in session.recordings:
                    session_item.addChild(self._recording_item(recording))
                mouse_item.addChild(session_item)
            self.addTopLevelItem(mouse_item)
        self.expandAll()

    def show_tables(self, tables: Sequence[TableNode]) -> None:
        """Replace the contents with the rows of a non-pipeline schema's photon tables."""
        self.clear()
        for table in tables:
            table_item = QTreeWidgetItem([table.label])
            table_item.setData(0, _NODE, table)
            for row in table.rows:
                item = QTreeWidgetItem([row.label, ", ".join(row.fields)])
                item.setData(0, _NODE, row)
                table_item.addChild(item)
            self.addTopLevelItem(table_item)
        self.expandAll()

    def _recording_item(self, node: RecordingNode) -> QTreeWidgetItem:
        status = [node.status.text(field) for _, field in STATUS_COLUMNS]
        item = QTreeWidgetItem([node.label, node.shape_text, *status])
        item.setData(0, _NODE, node)
        rate = f", {node.frame_rate:g} Hz" if node.frame_rate else ""
        item.setToolTip(0, f"{node.source_file}{rate}\nkey: {node.key}")
        for column in range(2, self.columnCount()):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignCenter)
        return item

    # -- reading -----------------------------------------------------------------------
    def items(self) -> list[QTreeWidgetItem]:
        """Every item, depth first."""
        found = []
        stack = [self.topLevelItem(i) for i in reversed(range(self.topLevelItemCount()))]
        while stack:
            item = stack.pop()
            found.append(item)
            stack.extend(item.child(i) for i in reversed(range(item.childCount())))
        return found

    def openable(self) -> list[Any]:
        """Every recording or row node in the tree."""
        nodes = [item.data(0, _NODE) for item in self.items()]
        return [n for n in nodes if isinstance(n, (RecordingNode, RowNode))]

    def item_for(self, node: Any) -> QTreeWidgetItem | None:
        for item in self.items():
            if item.data(0, _NODE) == node:
                return item
        return None

    def selected_nodes(self) -> list[Any]:
        """Selected recordings/rows; a selected session or mouse stands for its recordings."""
        chosen: list[Any] = []
        for item in self.selectedItems():
            stack = [item]
            while stack:
                current = stack.pop()
                node = current.data(0, _NODE)
                if isinstance(node, (RecordingNode, RowNode)):
                    if node not in chosen:
                        chosen.append(node)
                else:
                    stack.extend(current.child(i) for i in reversed(range(current.childCount())))
        return chosen

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        node = item.data(0, _NODE)
        if isinstance(node, (RecordingNode, RowNode)):
            self.openRequested.emit([node])
