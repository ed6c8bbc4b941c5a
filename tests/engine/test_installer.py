"""packaging/linux/install.sh and uninstall.sh on a fake unpacked bundle, with folder names that
are ordinary somewhere (spaces, quotes, #, &, $, backslashes, %), a relative PREFIX, a
case-insensitive home, an old system: every launcher starts, nothing of the user's is deleted,
and what cannot be handled is refused before anything changes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
HOSTILE_PREFIXES = [
    "with space",
    'a"quote',
    "it's",
    "hash#tag",
    "amp&er",
    "dollar$HOME",
    "back\\slash",
    "per%cent",
    "`tick`",
    "semi;colon",
]


def unpacked_bundle(folder: Path, glibc: str = "2.17") -> Path:
    """What build.sh stages for the full edition, with a shell script as the program."""
    bundle = folder / "BloodCell-0.1.0"
    program = bundle / "BloodCell"
    (program / "_internal").mkdir(parents=True)
    (program / "_internal" / "library.so").write_bytes(b"\0" * 10)
    executable = program / "BloodCell"
    executable.write_text('#!/bin/sh\necho "launched $*"\n')
    executable.chmod(0o755)
    desktop = (LINUX / "bloodcell.desktop").read_text().replace("Exec=BloodCell/BloodCell", "Exec=BloodCell/BloodCell")
    (bundle / "bloodcell.desktop").write_text(desktop)
    (bundle / "bloodcell.png").write_bytes(b"png")
    shutil.copy(LINUX / "uninstall.sh", bundle)
    (bundle / "install.sh").write_text((LINUX / "install.sh").read_text().replace("@GLIBC@", glibc))
    (bundle / "install.sh").chmod(0o755)
    return bundle


def run(script: Path, prefix: str | None, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ["PATH"], "HOME": str(cwd / "home"), **env}
    if prefix is not None:
        environment["PREFIX"] = prefix
    return subprocess.run(["bash", str(script)], env=environment, cwd=cwd, capture_output=True, text=True, timeout=60)


STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def exec_arguments(value: str) -> list[str]:
    """An Exec value read as the Desktop Entry Specification says: the string's escapes, then
    double-quoted arguments with \\-escaped ", `, $ and \\, then field codes."""
    unescaped, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped.append(STRING_ESCAPES.get(value[i + 1], "\\" + value[i + 1]))
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text, arguments, current, quoted, i = "".join(unescaped), [], "", False, 0
    while i < len(text):
        char = text[i]
        if quoted and char == "\\" and text[i + 1] in '"`$\\':
            current, i = current + text[i + 1], i + 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            arguments.append(current)
            current = ""
        else:
            current += char
        i += 1
    arguments.append(current)
    return [a.replace("%%", "%") for a in arguments if a and a not in ("%F", "%f", "%U", "%u")]


def desktop_exec(entry: Path) -> list[str]:
    (line,) = [line for line in entry.read_text().splitlines() if line.startswith("Exec=")]
    return exec_arguments(line.removeprefix("Exec="))


@pytest.mark.parametrize("name", HOSTILE_PREFIXES)
def test_any_folder_name_installs_a_launcher_that_starts_and_uninstalls_cleanly(tmp_path, name):
    bundle = unpacked_bundle(tmp_path)
    prefix = tmp_path / name
    done = run(bundle / "install.sh", str(prefix), tmp_path)
    assert done.returncode == 0, done.stderr
    installed = prefix / "lib" / "bloodcell" / "BloodCell" / "BloodCell"
    arguments = desktop_exec(prefix / "share" / "applications" / "bloodcell.desktop")
    assert arguments == [str(installed)]
    assert subprocess.run(arguments, capture_output=True, text=True).stdout == "launched \n"
    assert (prefix / "bin" / "bloodcell").resolve() == installed.resolve()

    removed = run(prefix / "lib" / "bloodcell" / "BloodCell" / "uninstall.sh", None, tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert not (prefix / "lib" / "bloodcell").exists()
    assert not (prefix / "bin" / "bloodcell").exists() and not (prefix / "bin" / "bloodcell").is_symlink()
    assert not (prefix / "share" / "applications" / "bloodcell.desktop").exists()


def test_a_relative_prefix_leaves_no_dangling_link(tmp_path):
    bundle = unpacked_bundle(tmp_path)
    done = run(bundle / "install.sh", "relative/prefix", tmp_path)
    assert done.returncode == 0, done.stderr
    link = tmp_path / "relative" / "prefix" / "bin" / "bloodcell"
    assert os.path.isabs(os.readlink(link)) and link.resolve().is_file()


def test_a_prefix_with_a_line_break_is_refused_before_anything_changes(tmp_path):
    bundle = unpacked_bundle(tmp_path)
    done = run(bundle / "install.sh", str(tmp_path / "two\nlines"), tmp_path)
    assert done.returncode == 2 and "control character" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BloodCell-0.1.0"]


def test_an_older_glibc_than_the_bundle_needs_is_refused_naming_both(tmp_path):
    bundle = unpacked_bundle(tmp_path, glibc="99.0")
    done = run(bundle / "install.sh", str(tmp_path / "prefix"), tmp_path)
    assert done.returncode == 2
    assert "glibc 99.0 or newer" in done.stderr and "Nothing was installed" in done.stderr
    assert not (tmp_path / "prefix").exists()


def test_a_case_insensitive_home_keeps_the_users_data(tmp_path):
    """On SMB or casefold ext4, share/bloodcell/BloodCell (the old install folder) is the data
    folder share/BloodCell/BloodCell: simulated with a link. Reinstalling keeps the data."""
    prefix = tmp_path / "prefix"
    data = prefix / "share" / "BloodCell" / "BloodCell"
    data.mkdir(parents=True)
    (prefix / "share" / "bloodcell").symlink_to(prefix / "share" / "BloodCell")
    (data / "autosave.bcsession").write_text("the technician's work")
    (data / "verified-cells.json").write_text("{}")
    (data / "_internal").mkdir()  # an install from before the move: its own files go
    (data / "BloodCell").write_text("#!/bin/sh\n")
    (data / "BloodCell").chmod(0o755)
    done = run(unpacked_bundle(tmp_path) / "install.sh", str(prefix), tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["autosave.bcsession", "verified-cells.json"]


def test_a_folder_the_installer_did_not_make_is_never_replaced(tmp_path):
    prefix = tmp_path / "prefix"
    foreign = prefix / "lib" / "bloodcell" / "BloodCell"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    done = run(unpacked_bundle(tmp_path) / "install.sh", str(prefix), tmp_path)
    assert done.returncode == 2 and "not made by this installer" in done.stderr
    assert (foreign / "notes.txt").read_text() == "mine"
    refused = run(LINUX / "uninstall.sh", None, tmp_path)  # not inside an installed folder
    assert refused.returncode == 2


def test_an_installed_library_is_found_however_long_the_list(tmp_path):
    """`ldconfig -p | grep -q` under pipefail called a present library missing (SIGPIPE)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "ldconfig"
    fake.write_text(
        "#!/bin/sh\nfor lib in libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1; do "
        'echo "\t$lib (libc6,x86-64) => /usr/lib/$lib"; done\nseq 1 200000\n'
    )
    fake.chmod(0o755)
    done = run(
        unpacked_bundle(tmp_path) / "install.sh", str(tmp_path / "prefix"), tmp_path,
        PATH=f"{tools}:{os.environ['PATH']}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the window needs" not in done.stdout


def test_a_prefix_the_desktop_does_not_read_is_said(tmp_path):
    done = run(unpacked_bundle(tmp_path) / "install.sh", str(tmp_path / "opt"), tmp_path)
    assert "no menu entry will appear" in done.stdout
    home_data = str(tmp_path / "home" / ".local" / "share")
    home_install = run(unpacked_bundle(tmp_path / "again") / "install.sh", None, tmp_path, XDG_DATA_HOME=home_data)
    assert home_install.returncode == 0, home_install.stderr
    assert "in the applications menu" in home_install.stdout


@pytest.mark.parametrize("edition", ["full", "review"])
def test_the_readme_runs_install_sh_from_inside_the_unpacked_folder(edition):
    text = (LINUX / f"README-{edition}.txt").read_text()
    for line in text.splitlines():
        if "./install.sh" in line and "tar xzf" in line:
            assert "&& cd @NAME@-@VERSION@ && ./install.sh" in line
