"""Secrets stay secret, and text typed by a user never becomes SQL."""

from __future__ import annotations

import logging
import secrets

import pytest
from conftest import TEST_SCHEMA, extra_store, new_session, tiff_session
from test_browse_connection import _embedded_settings

from napari_photon import pipeline as module
from napari_photon.browse import ConnectionFailed, connect_server
from napari_photon.cli import main
from napari_photon.db import embedded_server
from napari_photon.pipeline._counts import jobs_table

INJECTIONS = (
    "x' OR '1'='1",
    "1; DROP TABLE mouse; --",
    "\" OR \"\"=\"",
    "%' --",
    "pytest'); DELETE FROM session; --",
)


def _everything_stored(lab) -> str:
    """Every row of every table of ``lab`` and of its jobs tables, as text."""
    parts = []
    for table in lab.tables:
        parts.append(repr(table().to_dicts()))
    for table in lab.computed:
        parts.append(repr(jobs_table(table()).to_dicts()))
    return "\n".join(parts)


def test_secrets_never_reach_logs_errors_jobs_or_rows(pipeline, s3_endpoint, caplog):
    """Debug logging on everywhere; a populate to S3 with a failing key (its error in the
    jobs table) and a refused connection: neither the S3 secret, nor the database
    password, nor the wrong password typed appear in any log record, message or row."""
    s3_secret = "s3-secret-" + secrets.token_hex(8)
    wrong = "typed-wrong-" + secrets.token_hex(8)
    for name in (None, "datajoint", "napari_photon", "s3fs", "botocore", "aiobotocore", "fsspec"):
        caplog.set_level(logging.DEBUG, logger=name)
    with extra_store("vault", {**s3_endpoint, "secret_key": s3_secret}):
        lab = module.activate(f"{TEST_SCHEMA}_security", store="vault")
        good = tiff_session(lab, "secret")
        made = lab.populate(good, tables=("Recording", "MotionCorrected"))
        assert [r.done for r in made] == [1, 1]
        bad = new_session(lab, note="not a tiff")
        folder = lab.session_folder(bad)
        folder.mkdir(parents=True)
        (folder / "a.tif").write_bytes(b"this is not a TIFF file")
        [failed] = lab.populate(bad, tables=("Recording",), reserve_jobs=True,
                                suppress_errors=True)
        assert failed.errors
        with pytest.raises(ConnectionFailed) as refused:
            connect_server(_embedded_settings(password=wrong))
        stored = _everything_stored(lab)
    assert "not a TIFF" in stored or "TIFF" in stored  # the error did reach the jobs table
    server = embedded_server()
    texts = {
        "log records": caplog.text,
        "populate errors": repr(failed.errors),
        "connection error": str(refused.value),
        "rows and jobs": stored,
        "server log": server.log_file.read_text(errors="replace"),
    }
    for secret in (s3_secret, wrong, server.password()):
        for where, text in texts.items():
            assert secret not in text, f"a secret appears in the {where}"
    debug = {r.name.split(".")[0] for r in caplog.records if r.levelno == logging.DEBUG}
    assert "datajoint" in debug, debug  # debug logging was on (DataJoint logs every query)


def test_injection_strings_in_keys_are_values_never_sql(pipeline, capsys):
    key = tiff_session(pipeline, "injection")
    pipeline.populate(key, tables=("Recording",))
    counts = {t.__name__: len(t()) for t in pipeline.tables}
    for text in INJECTIONS:
        for term in (f"notes={text}", f"experimenter={text}"):
            for command in ("verify", "archive"):
                assert main([command, "--schema", pipeline.database, term]) == 0
                out = capsys.readouterr().out
                assert "no <photon@> movies match" in out or "0 movie(s) checked" in out, out
        assert main(["verify", "--schema", pipeline.database, f"mouse_id={text}"]) == 2
        assert "mouse_id takes a number" in capsys.readouterr().err
    assert {t.__name__: len(t()) for t in pipeline.tables} == counts
    assert (pipeline.Recording & key).fetch1("raw_movie").store == "active"
    # a value that holds quotes is matched as written, nothing more
    pipeline.Session.update1({**key, "notes": INJECTIONS[0]})
    assert main(["verify", "--schema", pipeline.database, f"notes={INJECTIONS[0]}"]) == 0
    assert "1 movie(s) checked, 0 damaged" in capsys.readouterr().out
