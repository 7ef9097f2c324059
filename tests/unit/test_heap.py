import gc

from ordersmith.data.imports.service import _common
from ordersmith.platform import heap


def test_settle_freezes_the_start_up_heap_once_and_a_bulk_run_leaves_it_frozen():
    heap.settle()
    frozen = gc.get_freeze_count()
    assert heap.settled() and frozen > 0
    heap.settle()  # a second call (another app in the same process) changes nothing
    assert gc.get_freeze_count() == frozen
    with (
        _common._bulk_run()
    ):  # an import inside a settled server: nothing more frozen, nothing unfrozen after
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == frozen
