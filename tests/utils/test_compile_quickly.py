"""compile_quickly: XLA's quickest compiles for --smoke runs, without overriding a level the user chose."""

import os

from musickit.utils.compile_cache import QUICK_XLA_FLAG, compile_quickly


def test_compile_quickly_adds_the_flag_once_and_keeps_the_users_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert compile_quickly() == QUICK_XLA_FLAG == "--xla_backend_optimization_level=0"
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/xla")
    assert compile_quickly() == "--xla_dump_to=/tmp/xla --xla_backend_optimization_level=0"
    assert compile_quickly() == "--xla_dump_to=/tmp/xla --xla_backend_optimization_level=0"  # not twice
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=2")
    assert compile_quickly() == "--xla_backend_optimization_level=2"  # the user's level wins

    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=2"
