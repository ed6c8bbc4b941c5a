"""Heavy imports run without the garbage collector's long passes, which freeze the window."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from model.common.collector import import_quietly, imports_without_pauses


@pytest.fixture
def module_folder(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("collector_probe_")]:
        del sys.modules[name]


def test_an_import_runs_with_the_collector_off_and_what_it_made_is_frozen(module_folder):
    (module_folder / "collector_probe_a.py").write_text(
        "import gc\ncollector_on = gc.isenabled()\nmade = [[i] for i in range(5000)]\n"
    )
    frozen_before = gc.get_freeze_count()
    import_quietly("collector_probe_a")
    probe = sys.modules["collector_probe_a"]
    assert probe.collector_on is False
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + 5000
    frozen = gc.get_freeze_count()
    import_quietly("collector_probe_a")  # once imported, nothing more happens
    assert gc.get_freeze_count() == frozen


def test_a_failing_import_turns_the_collector_back_on(module_folder):
    (module_folder / "collector_probe_b.py").write_text("raise RuntimeError('broken module')\n")
    with pytest.raises(RuntimeError, match="broken module"):
        import_quietly("collector_probe_b")
    assert gc.isenabled()


def test_blocks_nest_and_a_collector_switched_off_before_stays_off():
    with imports_without_pauses():
        with imports_without_pauses():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with imports_without_pauses():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.slow
def test_importing_the_training_engine_makes_no_full_collector_pass():
    # In a fresh interpreter, as the app's worker meets it: torch and fastai not yet imported.
    script = textwrap.dedent(
        """
        import gc
        passes = []
        gc.callbacks.append(lambda phase, info: passes.append(info["generation"]) if phase == "start" else None)
        from model.common.collector import import_quietly
        import_quietly("model.training.train")
        import sys
        assert "fastai.vision.all" in sys.modules and "torch" in sys.modules
        print(passes.count(2), gc.get_freeze_count(), gc.isenabled())
        """
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    full_passes, frozen, enabled = output.split()
    assert full_passes == "0" and enabled == "True"
    assert int(frozen) > 100_000


def test_a_block_that_imports_nothing_freezes_nothing():
    # A model switch imports nothing new: what is alive then (a closed dialog's cycles) must
    # stay collectable.
    frozen = gc.get_freeze_count()
    with imports_without_pauses():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == frozen and len(kept) == 1000


def test_an_imported_task_imports_its_module_only_when_it_runs(module_folder):
    import threading

    from model.common.task import TaskState, imported_task

    (module_folder / "collector_probe_c.py").write_text(
        "import gc, threading\ncollector_on = gc.isenabled()\n"
        "def work(state, value):\n    state.report(value)\n    return threading.current_thread().name, value\n"
    )
    task = imported_task("collector_probe_c", "work")
    assert task.__name__ == "work" and "collector_probe_c" not in sys.modules
    reported = []
    done = {}
    thread = threading.Thread(target=lambda: done.update(result=task(TaskState(reported.append), 7)), name="worker")
    thread.start()
    thread.join()
    assert done["result"] == ("worker", 7) and reported == [7]
    assert sys.modules["collector_probe_c"].collector_on is False  # imported quietly


def test_what_the_windows_run_on_their_own_thread_loads_no_torch():
    # Opening Adapt to this lab checks the cells, and its Start, Match this lab's Start and the
    # wizard's device list name their tasks: none of that may import torch on the GUI thread.
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from model.adaptation.checks import coverage_problems
        from model.common.task import imported_task
        from model.review.verified import VerifiedCell
        coverage_problems([VerifiedCell(Path("a.jpg"), "A")], ["A", "B"])
        for module, name in (
            ("model.adaptation.finetune", "adapt_file"),
            ("model.adaptation.lab_statistics", "match_file"),
            ("model.inference.devices", "device_choices"),
        ):
            imported_task(module, name)
        print("torch" in sys.modules)
        """
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
