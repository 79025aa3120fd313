"""replication.cyclic_gc_paused: the collector is off inside and as it was after."""

from __future__ import annotations

import gc

import pytest

from gridsight.governance_sim.replication import cyclic_gc_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_restored_even_after_an_error(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), cyclic_gc_paused():
            raise KeyError("boom")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
