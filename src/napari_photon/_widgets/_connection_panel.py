"""The browser's connection section: embedded default in one click, or a server form."""

from __future__ import annotations

import os
from pathlib import Path

from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit, Password, SpinBox
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QCollapsible

from ..browse import (
    BACKENDS,
    ConnectionInfo,
    ConnectionSettings,
    connect_default,
    connect_server,
    save_settings,
)
from ._worker import WorkerPool, readable, show_message

__all__ = ["ConnectionPanel"]

_TLS = {"auto": None, "on": True, "off": False}


class ConnectionPanel(QGroupBox):
    """Connect to the default database (embedded PostgreSQL, or the server configured for
    DataJoint) with one click, or to a server given in a form.

    Connecting runs in a thread worker; failures show in the panel and as a napari
    notification. The password field is masked; the password is kept in memory only,
    unless "Save" writes it to DataJoint's ``.secrets/`` folder.

    Signals
    -------
    connected(ConnectionInfo)
    failed(str)
    """

    connected = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Database", parent)
        self.info: ConnectionInfo | None = None
        self._pool = WorkerPool(self._set_busy)
        self._outcome: tuple | None = None  # (signal, value), emitted once the worker ended

        self.status = QLabel("Not connected")
        self.status.setWordWrap(True)
        self.default_button = QPushButton("Connect")
        self.default_button.setToolTip(
            "Connect to the server configured for DataJoint (datajoint.json, DJ_HOST), or "
            "else start napari-photon's embedded PostgreSQL server"
        )
        self.default_button.clicked.connect(self.connect_default)

        self.form = Container(
            widgets=[
                ComboBox(name="backend", choices=BACKENDS, value="postgresql"),
                LineEdit(name="host", value="localhost"),
                SpinBox(name="port", value=0, min=0, max=65535, tooltip="0: backend default"),
                LineEdit(name="user"),
                Password(name="password"),
                LineEdit(name="database", tooltip="PostgreSQL database (default postgres)"),
                ComboBox(name="tls", choices=list(_TLS), value="auto"),
            ],
            labels=True,
        )
        self.form.native.layout().setContentsMargins(0, 0, 0, 0)
        self.server_button = QPushButton("Connect to server")
        self.server_button.clicked.connect(self.connect_server)

        self.save_folder = LineEdit(name="folder", value=os.getcwd())
        self.save_password = CheckBox(text="include password", value=False)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip(
            "Write datajoint.json (server, port, backend) and .secrets/ (user, password) in "
            "this folder, where DataJoint finds them when started here"
        )
        self.save_button.clicked.connect(self.save)
        save_row = QHBoxLayout()
        save_row.addWidget(QLabel("Save to"))
        save_row.addWidget(self.save_folder.native, 1)
        save_row.addWidget(self.save_password.native)
        save_row.addWidget(self.save_button)

        server = QWidget()
        server_layout = QVBoxLayout(server)
        server_layout.setContentsMargins(0, 0, 0, 0)
        server_layout.addWidget(self.form.native)
        server_layout.addWidget(self.server_button)
        server_layout.addLayout(save_row)
        self.server_section = QCollapsible("Server…")
        self.server_section.addWidget(server)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.default_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.server_section)
        layout.addWidget(self.message)
        self._prefill()

    # -- form -------------------------------------------------------------------------
    def _prefill(self) -> None:
        try:
            settings = ConnectionSettings.from_datajoint_config()
        except Exception:  # noqa: BLE001 - an odd config must not stop the widget opening
            return
        self.form.backend.value = settings.backend
        if settings.host not in ("", "localhost") or not self.form.host.value:
            self.form.host.value = settings.host
        self.form.user.value = settings.user

    def settings(self) -> ConnectionSettings:
        """The form's values (raises ValueError on an invalid value)."""
        values = self.form
        return ConnectionSettings(
            backend=values.backend.value,
            host=values.host.value.strip(),
            port=int(values.port.value) or None,
            user=values.user.value.strip(),
            password=values.password.value,
            database_name=values.database.value.strip() or None,
            use_tls=_TLS[values.tls.value],
        )

    def set_server(self, **values: object) -> None:
        """Fill the server form (``backend``, ``host``, ``port``, ``user``, ``password``,
        ``database``, ``tls``) and expand it."""
        for name, value in values.items():
            getattr(self.form, name).value = value
        self.server_section.expand(animate=False)

    # -- actions ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pool.busy

    def _set_busy(self, busy: bool) -> None:
        for button in (self.default_button, self.server_button):
            button.setEnabled(not busy)
        if busy:
            self.status.setText("Connecting…")

    def connect_default(self) -> None:
        """Connect to the default database in a thread worker."""
        show_message(self.message, "")
        self._pool.start(
            connect_default, returned=self._connected, errored=self._failed, finished=self._ended
        )

    def connect_server(self) -> None:
        """Connect to the server of the form in a thread worker."""
        show_message(self.message, "")
        try:
            settings = self.settings()
        except ValueError as err:
            self._failed(err)
            return
        self._pool.start(
            connect_server,
            settings,
            returned=self._connected,
            errored=self._failed,
            finished=self._ended,
        )

    def save(self) -> None:
        """Save the form where DataJoint finds it (``datajoint.json`` + ``.secrets/``)."""
        try:
            saved = save_settings(
                self.settings(),
                Path(self.save_folder.value).expanduser(),
                save_password=bool(self.save_password.value),
            )
        except (OSError, ValueError) as err:
            show_message(self.message, f"Not saved: {readable(err)}", error=True, notify=True)
            return
        show_message(
            self.message,
            f"Saved {saved.config_file} and {len(saved.secrets)} file(s) in .secrets/",
        )

    def _connected(self, info: ConnectionInfo) -> None:
        self.info = info
        self.status.setText(f"Connected: {info.description}")
        show_message(self.message, "")
        self._outcome = (self.connected, info)

    def _failed(self, error: BaseException) -> None:
        text = readable(error)
        self.status.setText(
            "Not connected" if self.info is None else f"Connected: {self.info.description}"
        )
        show_message(self.message, text, error=True, notify=True)
        if self._pool.busy:
            self._outcome = (self.failed, text)
        else:
            self.failed.emit(text)

    def _ended(self) -> None:
        outcome, self._outcome = self._outcome, None
        if outcome is not None:
            signal, value = outcome
            signal.emit(value)
