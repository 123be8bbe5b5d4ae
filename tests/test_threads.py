"""One setting caps every thread pool the package starts (`_threads.py`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from napari_photon._threads import THREADS_VARIABLE, limit_threads, thread_count

_ALL = (THREADS_VARIABLE, "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK")


@pytest.fixture
def clean_env(monkeypatch):
    for name in _ALL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_is_the_cpus_this_process_may_run_on(clean_env):
    assert thread_count() == len(os.sched_getaffinity(0))


def test_the_package_setting_comes_first(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "5")
    clean_env.setenv(THREADS_VARIABLE, "3")
    assert thread_count() == 3


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("OMP_NUM_THREADS", "4", 4), ("OMP_NUM_THREADS", "6,2", 6), ("SLURM_CPUS_PER_TASK", "7", 7),
])
def test_standard_variables_are_honoured(clean_env, name, value, expected):
    clean_env.setenv(name, value)
    assert thread_count() == expected


def test_a_malformed_standard_variable_is_passed_over(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "lots")
    clean_env.setenv("SLURM_CPUS_PER_TASK", "2")
    assert thread_count() == 2


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_setting_is_a_clear_error(clean_env, value):
    clean_env.setenv(THREADS_VARIABLE, value)
    with pytest.raises(ValueError, match=f"{THREADS_VARIABLE}=.*positive whole number"):
        thread_count()


def test_limit_threads_sets_the_package_setting(clean_env):
    limit_threads(None)
    assert THREADS_VARIABLE not in os.environ
    limit_threads(2)
    assert os.environ[THREADS_VARIABLE] == "2" and thread_count() == 2


_POOLS = """
from napari_photon._blocks import thread_pool
from napari_photon.storage._writer import _workers
print(thread_pool()._max_workers, _workers())
"""


def test_every_pool_obeys_the_setting():
    env = {k: v for k, v in os.environ.items() if k not in _ALL}
    env[THREADS_VARIABLE] = "3"
    out = subprocess.run([sys.executable, "-c", _POOLS], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "3"]


def test_the_cli_refuses_a_bad_thread_count(capsys):
    from napari_photon.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["worker", "--threads", "0"])
    assert stopped.value.code == 2
    assert "positive whole number" in capsys.readouterr().err
