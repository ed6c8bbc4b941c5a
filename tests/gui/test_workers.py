"""The task runner every page and window uses: supersede, stop, discard, errors with their type."""

import threading

from bloodcell_gui.workers import TaskRunner


class Blocking:
    """A task that reports, then waits until released or asked to stop, and returns its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()

    def __call__(self, state) -> str:
        state.report(f"{self.name} started")
        while not self.release.wait(0.01):
            if state.should_stop():
                return f"{self.name} stopped"
        return self.name


def test_starting_a_task_supersedes_the_one_running(qtbot, qapp):
    from PySide6.QtCore import QObject

    owner = QObject()
    runner = TaskRunner(owner)
    seen = []
    first, second = Blocking("first"), Blocking("second")
    runner.start(first, on_progress=seen.append, on_done=seen.append, on_finished=lambda: seen.append("end"))
    qtbot.waitUntil(lambda: "first started" in seen)
    runner.start(second, on_progress=seen.append, on_done=seen.append, on_finished=lambda: seen.append("end"))
    second.release.set()
    qtbot.waitUntil(lambda: "end" in seen)
    runner.wait()
    qtbot.wait(50)
    assert seen == ["first started", "second started", "second", "end"]  # nothing of the first after it
    assert not runner.running


def test_stop_delivers_what_the_task_returns_and_discard_drops_it(qtbot, qapp):
    from PySide6.QtCore import QObject

    owner = QObject()
    runner = TaskRunner(owner)
    seen = []
    task = Blocking("kept")
    runner.start(task, on_progress=seen.append, on_done=seen.append)
    qtbot.waitUntil(lambda: seen == ["kept started"])
    runner.stop()
    qtbot.waitUntil(lambda: not runner.running)
    assert seen == ["kept started", "kept stopped"]

    seen.clear()
    runner.start(Blocking("dropped"), on_progress=seen.append, on_done=seen.append)
    qtbot.waitUntil(lambda: seen == ["dropped started"])
    runner.discard()
    runner.wait()
    qtbot.wait(50)
    assert seen == ["dropped started"] and not runner.running


def test_a_failure_arrives_as_the_exception_itself(qtbot, qapp):
    from PySide6.QtCore import QObject

    from model.training.train import TrainingError

    def fails(state):
        raise TrainingError("no memory", out_of_memory=True)

    owner = QObject()
    runner = TaskRunner(owner)
    errors = []
    runner.start(fails, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], TrainingError) and errors[0].out_of_memory
