from pathlib import Path

from model.training.holdout import is_held_out


def test_the_held_out_share_depends_on_the_file_name_alone():
    names = [f"cell_{i}.jpeg" for i in range(2000)]
    held = [n for n in names if is_held_out(Path("/a") / n)]
    assert 0.17 < len(held) / len(names) < 0.23
    assert all(is_held_out(Path("/elsewhere/copy") / n) for n in held)
    assert sum(is_held_out(n, percent=50) for n in names) > len(held)
