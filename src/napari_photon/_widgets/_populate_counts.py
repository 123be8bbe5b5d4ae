"""The Populate dock's table of done / pending / error counts, one row per table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

if TYPE_CHECKING:
    from napari_photon.pipeline import TableCounts

COLUMNS = ("Table", "Done", "Pending", "Error", "")


class _Row:
    """The widgets of one table's row."""

    def __init__(self, parent: QWidget, table: str) -> None:
        self.name = QLabel(table, parent)
        self.done = QLabel("-", parent)
        self.pending = QLabel("-", parent)
        self.error = QLabel("-", parent)
        self.button = QPushButton("Populate", parent)
        self.button.setToolTip(f"Populate {table}: every pending key, with reserve_jobs")
        self.button.setObjectName(f"populate_{table}")
        for label in (self.done, self.pending, self.error):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.counts: TableCounts | None = None

    def widgets(self) -> tuple[QWidget, ...]:
        return (self.name, self.done, self.pending, self.error, self.button)

    def show(self, counts: TableCounts) -> None:
        self.counts = counts
        self.done.setText(str(counts.done))
        pending = counts.pending + counts.reserved
        self.pending.setText(str(pending) if not counts.reserved else f"{pending}*")
        self.error.setText(str(counts.error))
        self.error.setStyleSheet("color: #e0584b; font-weight: bold;" if counts.error else "")
        tip = (
            f"{counts.table} ({counts.tier}): {counts.total} keys in key_source\n"
            f"done {counts.done}, pending {counts.pending}, being made {counts.reserved}, "
            f"failed {counts.error}, ignored {counts.ignored}"
        )
        for widget in (self.name, self.done, self.pending, self.error):
            widget.setToolTip(tip)


class CountsTable(QWidget):
    """Done / pending / error keys per auto-populated table, with a Populate button each.

    Parameters
    ----------
    tables : sequence of str
        Table names in dependency order.
    parent : QWidget, optional

    Signals
    -------
    populate_requested(str)
        The Populate button of that table was clicked.
    """

    populate_requested = Signal(str)

    def __init__(self, tables: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for column, title in enumerate(COLUMNS):
            header = QLabel(f"<b>{title}</b>", self)
            if 0 < column < 4:
                header.setAlignment(Qt.AlignmentFlag.AlignRight)
            layout.addWidget(header, 0, column)
        self.rows: dict[str, _Row] = {}
        for r, table in enumerate(tables, start=1):
            row = _Row(self, table)
            for column, widget in enumerate(row.widgets()):
                layout.addWidget(widget, r, column)
            row.button.clicked.connect(lambda _=False, t=table: self.populate_requested.emit(t))
            self.rows[table] = row
        layout.setColumnStretch(0, 1)

    def set_counts(self, counts: TableCounts) -> None:
        """Show one table's counts (unknown tables are ignored)."""
        row = self.rows.get(counts.table)
        if row is not None:
            row.show(counts)

    def counts(self, table: str) -> TableCounts | None:
        """The counts last shown for ``table``."""
        row = self.rows.get(table)
        return None if row is None else row.counts

    def key_finished(self, table: str, status: str) -> None:
        """Move one key of ``table`` from pending to done / error while a run goes on."""
        from dataclasses import replace

        row = self.rows.get(table)
        if row is None or row.counts is None or status not in ("done", "error"):
            return
        c = row.counts
        pending = max(c.pending - 1, 0)
        if status == "done":
            row.show(replace(c, done=c.done + 1, pending=pending))
        else:
            row.show(replace(c, error=c.error + 1, pending=pending))

    def set_buttons_enabled(self, enabled: bool) -> None:
        for row in self.rows.values():
            row.button.setEnabled(enabled)
