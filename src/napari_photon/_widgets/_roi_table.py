"""The ROI table of the curation dock: one row per ROI, one column per metric.

A :class:`RoiTableModel` (``QAbstractTableModel``) over numpy columns, shown through a
:class:`RoiFilterProxy` (``QSortFilterProxyModel``). Sorting and filtering are computed
with numpy on the columns (one ``argsort``, one boolean mask) rather than by a Python
comparison per pair of rows, so 10,000 ROIs sort and filter in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qtpy.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ROI_ID_ROLE", "RoiFilterProxy", "RoiTable", "RoiTableModel"]

#: item data role holding a row's roi_id (an int)
ROI_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: colours of the label column's text
LABEL_COLORS = {"cell": "#4caf50", "not cell": "#e0625a", "unsure": "#e0b050"}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return ""
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"


class RoiTableModel(QAbstractTableModel):
    """ROIs as rows: ``roi_id``, ``label`` and numeric metric columns.

    Call :meth:`set_rois` with the columns; rows are kept in the model's own order (set by
    :meth:`sort_rows`), which the proxy keeps.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.columns: dict[str, np.ndarray] = {}
        self.roi_ids = np.zeros(0, dtype=np.int64)
        self._order = np.zeros(0, dtype=np.int64)  # display row -> index into the columns
        self._row_of: dict[int, int] = {}
        self._sort: tuple[str, bool] | None = None

    # -- content -------------------------------------------------------------------------
    def set_rois(self, roi_ids: Sequence[int], columns: Mapping[str, Sequence]) -> None:
        """Show ROIs ``roi_ids`` with ``columns`` (name -> one value per ROI, in that order;
        ``label`` holds strings, the others numbers)."""
        self.beginResetModel()
        self.roi_ids = np.asarray(roi_ids, dtype=np.int64)
        self.columns = {"roi_id": self.roi_ids}
        for name, values in columns.items():
            values = np.asarray(values)
            if len(values) != len(self.roi_ids):
                raise ValueError(f"column {name!r} has {len(values)} values, not {len(roi_ids)}")
            self.columns[name] = values
        self.names = list(self.columns)
        self._order = np.arange(len(self.roi_ids))
        if self._sort is not None and self._sort[0] in self.columns:
            self._order = self._sorted(*self._sort)
        self._index_rows()
        self.endResetModel()

    def _index_rows(self) -> None:
        self._row_of = {int(self.roi_ids[i]): row for row, i in enumerate(self._order)}

    def numeric_names(self) -> list[str]:
        """Columns a filter or a threshold can use (numbers, not text)."""
        return [n for n, v in self.columns.items() if v.dtype.kind in "biuf"]

    def row_of(self, roi_id: int) -> int | None:
        """The model row showing ``roi_id`` (None when not shown)."""
        return self._row_of.get(int(roi_id))

    def roi_at(self, row: int) -> int:
        return int(self.roi_ids[self._order[row]])

    def value(self, row: int, name: str) -> Any:
        return self.columns[name][self._order[row]]

    # -- sorting -------------------------------------------------------------------------
    def _sorted(self, name: str, descending: bool) -> np.ndarray:
        values = self.columns[name]
        if values.dtype.kind in "biuf":
            keys = values.astype(np.float64)
            keys = np.where(np.isnan(keys), np.inf, -keys if descending else keys)
            return np.argsort(keys, kind="stable")
        order = np.argsort(values.astype(str), kind="stable")
        return order[::-1] if descending else order

    def sort_rows(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the rows by ``column`` (numbers numerically, missing values last)."""
        if not 0 <= column < len(self.names):
            return
        self._sort = (self.names[column], order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        before = self._order
        persistent = self.persistentIndexList()
        self._order = self._sorted(*self._sort)
        self._index_rows()
        for index in persistent:  # the view's selection follows its ROIs
            roi = int(self.roi_ids[before[index.row()]])
            self.changePersistentIndex(index, self.index(self._row_of[roi], index.column()))
        self.layoutChanged.emit()

    # -- QAbstractTableModel -------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.names)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        name = self.names[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(self.value(index.row(), name))
        if role == ROI_ID_ROLE:
            return self.roi_at(index.row())
        if role == Qt.ItemDataRole.ForegroundRole and name == "label":
            color = LABEL_COLORS.get(str(self.value(index.row(), name)))
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.TextAlignmentRole and name != "label":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.names[section] if section < len(self.names) else None
        return None


class RoiFilterProxy(QSortFilterProxyModel):
    """Keeps the rows whose metrics lie in the chosen ranges; sorts through the model.

    Filters are ``{column name: (low, high)}`` (either end None for open); rows with a
    missing value in a filtered column are left out.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.ranges: dict[str, tuple[float | None, float | None]] = {}
        self.hidden_labels: set[str] = set()
        self._accept = np.zeros(0, dtype=bool)

    def setSourceModel(self, model: RoiTableModel) -> None:  # noqa: N802
        super().setSourceModel(model)
        model.modelReset.connect(self._refilter)
        model.layoutChanged.connect(self._refilter)
        self._refilter()

    def source(self) -> RoiTableModel:
        return self.sourceModel()

    def set_range(self, name: str, low: float | None, high: float | None) -> None:
        if low is None and high is None:
            self.ranges.pop(name, None)
        else:
            self.ranges[name] = (low, high)
        self._refilter()

    def clear_ranges(self) -> None:
        self.ranges.clear()
        self._refilter()

    def set_hidden_labels(self, labels: set[str]) -> None:
        self.hidden_labels = set(labels)
        self._refilter()

    def accepted_rois(self) -> np.ndarray:
        """roi_ids that pass the filters (in no particular order)."""
        model = self.source()
        if model is None:
            return np.zeros(0, dtype=np.int64)
        return model.roi_ids[self._mask()]

    def _mask(self) -> np.ndarray:
        model = self.source()
        keep = np.ones(len(model.roi_ids), dtype=bool)
        for name, (low, high) in self.ranges.items():
            if name not in model.columns:
                continue
            values = model.columns[name].astype(np.float64)
            with np.errstate(invalid="ignore"):
                if low is not None:
                    keep &= values >= low
                if high is not None:
                    keep &= values <= high
        if self.hidden_labels and "label" in model.columns:
            keep &= ~np.isin(model.columns["label"].astype(str), list(self.hidden_labels))
        return keep

    def _refilter(self) -> None:
        model = self.source()
        if model is None:
            return
        self._accept = self._mask()[model._order]
        self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        return bool(self._accept[row]) if row < len(self._accept) else True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort with numpy in the model (the proxy itself keeps the model's order)."""
        model = self.source()
        if model is not None and column >= 0:
            model.sort_rows(column, order)


class RoiTable(QWidget):
    """The table view with a filter row: column, min, max.

    Signals
    -------
    selectionChanged(list)
        The roi_ids selected in the table (after a click, a key or :meth:`select`).
    """

    selectionChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RoiTableModel(self)
        self.proxy = RoiFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setDefaultSectionSize(70)
        # no alternating rows: in the dark theme their light base made the text unreadable
        self.view.setAlternatingRowColors(False)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self._quiet = False

        self.filter_column = QComboBox()
        self.filter_column.setToolTip("Filter the table by this metric")
        self.filter_column.currentIndexChanged.connect(self._show_range)
        self.filter_min = self._bound("minimum")
        self.filter_max = self._bound("maximum")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        self.count_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(QLabel("Filter"))
        row.addWidget(self.filter_column, 1)
        row.addWidget(self.filter_min)
        row.addWidget(QLabel("to"))
        row.addWidget(self.filter_max)
        row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)
        self.model.modelReset.connect(self._columns_changed)
        self.proxy.rowsInserted.connect(self._count)
        self.proxy.rowsRemoved.connect(self._count)
        self.proxy.layoutChanged.connect(self._count)
        self.proxy.modelReset.connect(self._count)

    def _bound(self, what: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(-1e12, 1e12)
        box.setDecimals(3)
        box.setSpecialValueText("any")
        box.setToolTip(f"The filter's {what} (the lowest value means: any)")
        box.setValue(box.minimum())
        box.editingFinished.connect(self._apply_range)
        return box

    # -- columns and filters -------------------------------------------------------------
    def _columns_changed(self) -> None:
        names = [n for n in self.model.numeric_names() if n != "roi_id"]
        if names != [self.filter_column.itemText(i) for i in range(self.filter_column.count())]:
            current = self.filter_column.currentText()
            self.filter_column.blockSignals(True)
            self.filter_column.clear()
            self.filter_column.addItems(names)
            if current in names:
                self.filter_column.setCurrentIndex(names.index(current))
            self.filter_column.blockSignals(False)
            self._show_range()
        self._count()

    def _show_range(self, _index: int = 0) -> None:
        low, high = self.proxy.ranges.get(self.filter_column.currentText(), (None, None))
        for box, value in ((self.filter_min, low), (self.filter_max, high)):
            box.blockSignals(True)
            box.setValue(box.minimum() if value is None else value)
            box.blockSignals(False)

    def _apply_range(self) -> None:
        name = self.filter_column.currentText()
        if not name:
            return
        low, high = (
            None if box.value() == box.minimum() else box.value()
            for box in (self.filter_min, self.filter_max)
        )
        self.set_filter(name, low, high)

    def set_filter(self, name: str, low: float | None = None, high: float | None = None) -> None:
        """Show only ROIs with ``low <= name <= high`` (None: open end)."""
        self.proxy.set_range(name, low, high)
        if name == self.filter_column.currentText():
            self._show_range()
        self._count()

    def clear_filters(self) -> None:
        self.proxy.clear_ranges()
        self._show_range()
        self._count()

    def _count(self, *_args: Any) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} ROIs shown")

    # -- selection -------------------------------------------------------------------------
    def selected(self) -> list[int]:
        """roi_ids of the selected rows, in table order."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [int(self.proxy.index(r, 0).data(ROI_ID_ROLE)) for r in rows]

    def select(self, roi_ids: Sequence[int], *, scroll: bool = True) -> None:
        """Select the rows of ``roi_ids`` (those filtered out stay unselected)."""
        selection = QItemSelection()
        last = None
        for roi in roi_ids:
            row = self.model.row_of(int(roi))
            if row is None:
                continue
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if not index.isValid():
                continue
            right = index.siblingAtColumn(self.proxy.columnCount() - 1)
            selection.select(index, right)
            last = index
        self._quiet = True
        try:
            flags = (
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows
            )
            self.view.selectionModel().select(selection, flags)
            if last is not None:
                self.view.selectionModel().setCurrentIndex(
                    last, QItemSelectionModel.SelectionFlag.NoUpdate
                )
                if scroll:
                    self.view.scrollTo(last)
        finally:
            self._quiet = False
        self.selectionChanged.emit(self.selected())

    def _selection_changed(self, *_args: Any) -> None:
        if not self._quiet:
            self.selectionChanged.emit(self.selected())
