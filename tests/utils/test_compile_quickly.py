"""compile_quickly: XLA's quickest compiles for --smoke runs, without overriding a setting the user chose."""

import os

from musickit.utils.compile_cache import compile_quickly

QUICK = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"


def test_compile_quickly_adds_the_flags_once_and_keeps_the_users_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert compile_quickly() == QUICK
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/xla")
    assert compile_quickly() == f"--xla_dump_to=/tmp/xla {QUICK}"
    assert compile_quickly() == f"--xla_dump_to=/tmp/xla {QUICK}"  # not twice
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=2")
    # the user's level wins; the flag they did not set is added
    assert compile_quickly() == "--xla_backend_optimization_level=2 --xla_cpu_use_fusion_emitters=false"
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=2 --xla_cpu_use_fusion_emitters=false"
