"""The user's folders are resolved once, checked without creating anything, and an unusable one
is named with what will not be kept (instead of an exception in every save)."""

from __future__ import annotations

import os
import pwd

from model.common.user_folders import resolve


def test_a_data_folder_that_is_a_file_is_named_with_what_is_lost(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    folders = resolve({"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(blocker)})
    assert folders.data is None
    assert folders.config == tmp_path / "home" / ".config" / "BloodCell"
    (warning,) = folders.problems
    assert str(blocker) in warning and "verified cells" in warning and "crash recovery" in warning


def test_without_home_the_accounts_home_is_used_never_the_root():
    folders = resolve({})
    assert folders.home == __import__("pathlib").Path(pwd.getpwuid(os.getuid()).pw_dir)
    assert not str(folders.data).startswith("//")


def test_relative_xdg_folders_are_ignored_as_the_specification_says(tmp_path):
    folders = resolve({"HOME": str(tmp_path), "XDG_DATA_HOME": "relative/data", "XDG_CACHE_HOME": "c"})
    assert folders.data == tmp_path / ".local" / "share" / "BloodCell" / "BloodCell"
    assert folders.cache == tmp_path / ".cache" / "BloodCell"


def test_resolving_creates_nothing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    folders = resolve({"HOME": str(home)})
    assert folders.problems == ()
    assert list(home.iterdir()) == []


def test_a_home_under_a_file_is_refused_for_every_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    folders = resolve({"HOME": str(blocker / "home")})
    assert (folders.config, folders.data, folders.cache) == (None, None, None)
    assert len(folders.problems) == 3
