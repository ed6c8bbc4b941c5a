"""Smoke test of the frozen bundles, run by CI after the unit tests:
`smoke_test.py [full|review ...]` (default both): dist/BloodCell and dist/BloodCellReview.

Both:
1. every shared library in the bundle finds the libraries it needs (inside it or on the system);
2. the frozen `classify` on TEST_SIMPLE writes the same CSV as the unfrozen CLI: the same
   classes, probabilities, scores and flags;
3. the frozen `evaluate` runs headless;
4. the frozen GUI starts offscreen, paints its window, and exits cleanly;
then prints the bundle size with its 10 largest parts and the time to the first window.
The full BloodCell:
5. the frozen `train` runs an epoch on TEST_SIMPLE with the validation split by cell and
   writes a model file (fastai, the cell locator and the copy grouping all made it in); the
   frozen `finetune` adapts the default on it, and the adapted file classifies.
BloodCell Review:
6. nothing in it is a torch, torchvision, fastai, triton or CUDA library or module (its files
   and its Python archive are listed and checked), it is at most 400 MB, and its first window
   opens within 1.5 s;
7. the frozen window classifies TEST_SIMPLE and exports CSV and PDF through its own exports;
8. `train` is refused with the reason.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EDITIONS = {"full": ("BloodCell", "BloodCell"), "review": ("BloodCellReview", "BloodCellReview")}
BUNDLE = REPO / "dist" / "BloodCell"  # the one being checked (set by main)
DATA = Path(os.environ.get("BLOODCELL_DATA", REPO.parent / "shared" / "data" / "blood-cells"))


def fail(message: str) -> None:
    print(f"SMOKE TEST FAILED: {message}")
    sys.exit(1)


# The compute stack: what we strip libraries from, so what must stay complete for the GPU to work.
# (Qt's X11 plugins need the desktop's own X libraries, which a headless CI machine lacks.)
CHECKED = ("torch", "nvidia", "torchvision", "cuda", "onnxruntime")
# Comes with the NVIDIA driver on the lab PC, never with an application.
DRIVER_LIBRARIES = {"libcuda.so.1", "libnvidia-ml.so.1"}


def unresolved_libraries() -> list[str]:
    """Libraries that a bundled torch/CUDA .so needs but neither the bundle nor the system provides."""
    bundled = {p.name for p in BUNDLE.rglob("*.so*")}
    missing = set()
    for library in BUNDLE.rglob("*.so*"):
        parts = library.relative_to(BUNDLE).parts
        compute = any(part in CHECKED for part in parts[:3])
        if not library.is_file() or not (compute or "PySide6" in parts[:3]):
            continue
        out = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "(NEEDED)" in line:
                name = line.split("[", 1)[1].rstrip("]")
                if not compute and not name.startswith(("libQt6", "libpyside6", "libshiboken6")):
                    continue  # Qt's system dependencies (X11, fonts) belong to the desktop
                if name not in bundled and name not in DRIVER_LIBRARIES and not system_has(name):
                    missing.add(f"{library.relative_to(BUNDLE)} needs {name}")
    return sorted(missing)


_system_cache: dict[str, bool] = {}


def system_has(name: str) -> bool:
    if name not in _system_cache:
        out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
        _system_cache.update({line.split()[0]: True for line in out.splitlines()[1:] if line.strip()})
        _system_cache.setdefault(name, False)
    return _system_cache.get(name, False)


def predictions(csv_path: Path) -> dict[str, str]:
    with csv_path.open(encoding="utf-8") as stream:
        return {
            Path(row["path"]).name + "|" + Path(row["path"]).parent.name: row["predicted"]
            for row in csv.DictReader(stream)
        }


def run(command: list[str], env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0 or "Traceback" in done.stderr:
        fail(f"{' '.join(map(str, command))} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def main() -> None:
    global BUNDLE
    editions = sys.argv[1:] or list(EDITIONS)
    for edition in editions:
        if edition not in EDITIONS:
            fail(f"unknown edition {edition!r}; choose from {', '.join(EDITIONS)}")
        folder, program = EDITIONS[edition]
        BUNDLE = REPO / "dist" / folder
        print(f"== {folder}")
        check_edition(edition, BUNDLE / program)


def check_edition(edition: str, frozen: Path) -> None:
    if not frozen.exists():
        fail(f"{frozen} does not exist: build it first (packaging/build.sh {edition})")
    missing = unresolved_libraries()
    if missing:
        fail("libraries with unmet dependencies:\n  " + "\n  ".join(missing))
    print("library closure: every bundled compute library finds its dependencies, every Qt plugin its Qt libraries")
    check_system_parts()
    if edition == "review":
        training_parts = training_stack_inside()
        if training_parts:
            fail("BloodCell Review holds parts of the training stack:\n  " + "\n  ".join(training_parts[:20]))
        print("no torch, torchvision, fastai, triton or CUDA file or module inside")

    images = DATA / "TEST_SIMPLE"
    with tempfile.TemporaryDirectory() as scratch:
        frozen_csv, source_csv = Path(scratch) / "frozen.csv", Path(scratch) / "source.csv"
        started = time.perf_counter()
        run([str(frozen), "classify", str(images), "--csv", str(frozen_csv)])
        print(f"frozen classify: {time.perf_counter() - started:.1f} s")
        run([sys.executable, "-m", "bloodcell_gui.entry", "classify", str(images), "--csv", str(source_csv)])
        ours, theirs = csv_rows(frozen_csv), csv_rows(source_csv)
        if ours != theirs or len(ours) != 71:
            differing = [key for key in theirs if ours.get(key) != theirs[key]][:3]
            fail(f"frozen and source CSVs differ ({len(ours)} vs {len(theirs)} rows; e.g. {differing})")
        print(f"frozen classify: the same CSV as the source CLI ({len(ours)} rows, classes, probabilities, flags)")
    done = run([str(frozen), "evaluate", str(images)])
    print("frozen evaluate: " + done.stdout.splitlines()[0])
    check_hostile_model(frozen, images)
    if edition == "full":
        check_training(frozen, images)
    else:
        check_review_window(frozen, images)
        refused = subprocess.run(
            [str(frozen), "train", str(images), "--out", "/tmp/never.safetensors"], capture_output=True, text=True
        )
        if refused.returncode != 2 or "full BloodCell" not in refused.stderr or "Traceback" in refused.stderr:
            fail(f"the review build's train was not refused with the reason: {refused.returncode} {refused.stderr}")
        print("frozen train: refused, with where training is done")

    first_window = check_first_window(frozen)
    total = report_size()
    if edition == "review":
        if total > 400 * 10**6:
            fail(f"BloodCell Review is {total / 10**6:.0f} MB, over 400 MB")
        if first_window > 1.5:
            fail(f"BloodCell Review's first window took {first_window:.2f} s, over 1.5 s")


# The floor the installers and READMEs promise (Debian 12, Ubuntu 24.04, RHEL 10 ...).
GLIBC_FLOOR = (2, 36)


def check_system_parts() -> None:
    """List what the bundle took from the build machine's system (not from a Python package) and
    the newest glibc any bundled file asks for; a floor above the promised one fails."""
    from_system = sorted(
        str(path.relative_to(BUNDLE))
        for path in BUNDLE.rglob("*.so*")
        if path.is_file() and system_has(path.name) and path.parent.name == "_internal"
    )
    print(f"from the build machine's system ({len(from_system)}): {', '.join(from_system) or 'nothing'}")
    floor = glibc_floor()
    print(f"glibc floor: {'.'.join(map(str, floor))} (promised: {'.'.join(map(str, GLIBC_FLOOR))} or newer)")
    if floor > GLIBC_FLOOR:
        fail(f"the bundle needs glibc {'.'.join(map(str, floor))}, newer than the {GLIBC_FLOOR} the installer states")


def glibc_floor() -> tuple[int, ...]:
    """The newest GLIBC_x.y symbol version any bundled program or library needs."""
    files = [str(p) for p in BUNDLE.rglob("*") if p.is_file() and (".so" in p.name or os.access(p, os.X_OK))]
    versions: set[tuple[int, ...]] = set()
    for start in range(0, len(files), 200):
        out = subprocess.run(["objdump", "-T", *files[start : start + 200]], capture_output=True, text=True).stdout
        versions |= {tuple(int(n) for n in v.split(".")) for v in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", out)}
    if not versions:
        fail("no glibc symbol versions found in the bundle (is objdump installed?)")
    return max(versions)


def check_hostile_model(frozen: Path, images: Path) -> None:
    """A copy of the default whose graph's classes are rotated (weights untouched) is refused,
    naming the file, before any image is classified."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    source = REPO / "resources" / "default_model.safetensors"
    arrays = load_file(source)
    with safe_open(source, "np") as stream:
        metadata = stream.metadata()
    graph = onnx.load_model_from_string(arrays["onnx.0"].tobytes())
    last = next(node for node in graph.graph.node if node.output[0] == "logits")
    for tensor in graph.graph.initializer:
        if tensor.name in last.input[1:]:
            tensor.CopyFrom(numpy_helper.from_array(np.roll(numpy_helper.to_array(tensor), 1, axis=0), tensor.name))
    arrays["onnx.0"] = np.frombuffer(graph.SerializeToString(), dtype=np.uint8).copy()
    with tempfile.TemporaryDirectory() as scratch:
        crafted, out = Path(scratch) / "rotated-classes.safetensors", Path(scratch) / "never.csv"
        save_file(arrays, crafted, metadata=metadata)
        done = subprocess.run(
            [str(frozen), "classify", str(images), "--model", str(crafted), "--csv", str(out)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 2 or str(crafted) not in done.stderr or "not the same network" not in done.stderr:
            fail(f"a graph that is not its weights' network was not refused: {done.returncode} {done.stderr[-500:]}")
        if out.exists():
            fail("the refused model still wrote a CSV")
    print("frozen classify: a model file whose graph is not its weights' network is refused by name")


def csv_rows(csv_path: Path) -> dict[str, dict]:
    with csv_path.open(encoding="utf-8") as stream:
        return {row["path"]: row for row in csv.DictReader(stream)}


# A file or folder of the training stack, by the names its packages and libraries start with
# (libc10 is torch's core; "cuda" only at the start, or libicudata would match).
TRAINING_PART = re.compile(
    r"^(lib)?(torch|fastai|fastcore|triton|nvidia|cuda|cudnn|cublas|nccl|cufft|curand|cusparse|cusolver|nvrtc"
    r"|nvjitlink|c10|efficientnet)",
    re.IGNORECASE,
)


def training_stack_inside() -> list[str]:
    """Files of the bundle, and modules of its Python archive, that belong to training."""
    from PyInstaller.archive.readers import CArchiveReader

    found = [
        str(path.relative_to(BUNDLE))
        for path in BUNDLE.rglob("*")
        if any(TRAINING_PART.match(part) for part in path.relative_to(BUNDLE).parts)
    ]
    modules: list[str] = []
    for program in (path for path in BUNDLE.iterdir() if path.is_file() and os.access(path, os.X_OK)):
        # onedir programs carry their Python archive (PYZ) inside the executable
        archive = CArchiveReader(str(program))
        if "PYZ.pyz" in archive.toc:
            modules += list(archive.open_embedded_archive("PYZ.pyz").toc)
    if not modules:
        fail("the bundle's Python archive (PYZ) was not found: cannot check which modules are inside")
    found += [f"module {m}" for m in modules if m.split(".")[0] in ("torch", "torchvision", "fastai", "triton")]
    return found


def check_training(frozen: Path, images: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "smoke.safetensors"
        started = time.perf_counter()
        command = ["train", str(images), "--epochs", "1", "--split-by-cell", "--size", "64x64", "--out", str(model)]
        run([str(frozen), *command])
        if not model.is_file():
            fail("the frozen train wrote no model file")
        print(f"frozen train: one epoch split by cell, model written, {time.perf_counter() - started:.1f} s")
        adapted, adapted_csv = Path(scratch) / "adapted.safetensors", Path(scratch) / "adapted.csv"
        started = time.perf_counter()
        run([str(frozen), "finetune", str(images), "--epochs", "1", "--frozen-epochs", "1", "--out", str(adapted)])
        run([str(frozen), "classify", str(images), "--model", str(adapted), "--csv", str(adapted_csv)])
        if "adaptations" not in run([str(frozen), "info", str(adapted)]).stdout or len(predictions(adapted_csv)) != 71:
            fail("the frozen finetune's model does not record its parent or does not classify")
        print(
            f"frozen finetune: the default adapted, its parent recorded, it classifies, "
            f"{time.perf_counter() - started:.1f} s"
        )


def gui_environment(home: str, **extra: str) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **extra)
    env["HOME"] = env["XDG_CONFIG_HOME"] = home  # fresh settings
    return env


def check_review_window(frozen: Path, images: Path) -> None:
    """The window classifies a folder given on the command line and exports through its own
    CSV and PDF exports (BLOODCELL_EXPORT_AND_QUIT), as File › Export does."""
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as out:
        # the window closes itself after the exports, or after 5 minutes whatever happened
        env = gui_environment(home, BLOODCELL_EXPORT_AND_QUIT=out, BLOODCELL_QUIT_AFTER="300")
        done = subprocess.run([str(frozen), str(images)], capture_output=True, text=True, env=env, timeout=600)
        csv_file, pdf_file = Path(out) / "results.csv", Path(out) / "report.pdf"
        if done.returncode != 0 or "Traceback" in done.stderr or not (csv_file.is_file() and pdf_file.is_file()):
            fail(f"the frozen window did not export CSV and PDF ({done.returncode})\n{done.stdout}\n{done.stderr}")
        if not pdf_file.read_bytes().startswith(b"%PDF") or len(csv_rows(csv_file)) < 69:
            fail("the frozen window's exports are not a PDF and a CSV of the images")
        print(f"frozen window: classified, exported CSV ({len(csv_rows(csv_file))} rows) and PDF "
              f"({pdf_file.stat().st_size // 1024} KiB): {done.stdout.strip()}")  # fmt: skip


def check_first_window(frozen: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = gui_environment(home, BLOODCELL_REPORT_FIRST_WINDOW="1", BLOODCELL_QUIT_AFTER="6")
        started = time.perf_counter()
        process = subprocess.Popen([str(frozen)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        first_window = None
        for line in process.stdout:
            if line.startswith("first-window") and first_window is None:
                first_window = time.perf_counter() - started
        stderr = process.stderr.read()
        code = process.wait(timeout=120)
    if first_window is None:
        fail(f"the frozen GUI never painted a window\n{stderr}")
    if code != 0 or "Traceback" in stderr:
        fail(f"the frozen GUI exited {code}\n{stderr}")
    print(f"frozen GUI: first window {first_window:.2f} s after launch, clean exit")
    return first_window


def report_size() -> int:
    sizes = []
    for path in BUNDLE.rglob("*"):
        if path.is_file() and not path.is_symlink():
            sizes.append((path.stat().st_size, path.relative_to(BUNDLE)))
    total = sum(size for size, _ in sizes)
    print(f"bundle: {total / 10**6:.0f} MB ({total / 2**30:.2f} GiB) in {len(sizes)} files; largest:")
    for size, path in sorted(sizes, reverse=True)[:10]:
        print(f"  {size / 2**20:8.0f} MiB  {path}")
    return total


if __name__ == "__main__":
    main()
