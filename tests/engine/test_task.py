import threading

from model.common.hashing import file_sha256
from model.common.task import TaskState


def test_a_task_state_reports_and_stops_across_threads():
    seen = []
    state = TaskState(seen.append)
    worker = threading.Thread(target=lambda: [state.report(i) for i in range(3)])
    worker.start()
    worker.join()
    assert seen == [0, 1, 2] and not state.should_stop()
    state.request_stop()
    assert state.should_stop()


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib

    data = b"x" * (3 << 20)
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()
