"""Process start-up: imports run without the garbage collector, which comes back afterwards."""

from __future__ import annotations

import gc

import pytest

from sandbox.startup import collector_paused


def test_collector_is_paused_inside_and_restored_after() -> None:
    frozen_before = gc.get_freeze_count()
    with collector_paused():
        assert not gc.isenabled()
        loaded = [[index] for index in range(1000)]  # stands for the objects imports create
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(loaded)
    gc.unfreeze()


def test_collector_stays_off_if_it_was_off_and_comes_back_after_an_error() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ImportError), collector_paused():
        raise ImportError("a module failed to load")
    assert gc.isenabled()
    gc.unfreeze()
