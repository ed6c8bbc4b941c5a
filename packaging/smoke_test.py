"""Smoke test of the frozen bundle (dist/BloodCell), run by CI after the unit tests.

1. every shared library in the bundle finds the libraries it needs (inside it or on the system);
2. the frozen `classify` on TEST_SIMPLE gives the same predictions as the unfrozen CLI;
3. the frozen `evaluate` runs headless;
4. the frozen `train` runs an epoch on TEST_SIMPLE with the validation split by cell and
   writes a model file (fastai, the cell locator and the copy grouping all made it in); the
   frozen `finetune` adapts the default on it, and the adapted file classifies;
5. the frozen GUI starts offscreen, paints its window, and exits cleanly after a few seconds;
then prints the bundle size with its 10 largest parts and the time to the first window.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "dist" / "BloodCell"
DATA = Path(os.environ.get("BLOODCELL_DATA", REPO.parent / "shared" / "data" / "blood-cells"))


def fail(message: str) -> None:
    print(f"SMOKE TEST FAILED: {message}")
    sys.exit(1)


# The compute stack: what we strip libraries from, so what must stay complete for the GPU to work.
# (Qt's X11 plugins need the desktop's own X libraries, which a headless CI machine lacks.)
CHECKED = ("torch", "nvidia", "torchvision", "cuda")
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
    frozen = BUNDLE / "BloodCell"
    if not frozen.exists():
        fail(f"{frozen} does not exist: build it first (packaging/build.sh)")
    missing = unresolved_libraries()
    if missing:
        fail("libraries with unmet dependencies:\n  " + "\n  ".join(missing))
    print("library closure: every bundled torch/CUDA library finds its dependencies, every Qt plugin its Qt libraries")

    images = DATA / "TEST_SIMPLE"
    with tempfile.TemporaryDirectory() as scratch:
        frozen_csv, source_csv = Path(scratch) / "frozen.csv", Path(scratch) / "source.csv"
        started = time.perf_counter()
        run([str(frozen), "classify", str(images), "--csv", str(frozen_csv)])
        print(f"frozen classify: {time.perf_counter() - started:.1f} s")
        run([sys.executable, "-m", "bloodcell_gui.entry", "classify", str(images), "--csv", str(source_csv)])
        ours, theirs = predictions(frozen_csv), predictions(source_csv)
        if ours != theirs or len(ours) != 71:
            fail(f"frozen and source predictions differ ({len(ours)} vs {len(theirs)} rows)")
        print(f"frozen classify: same {len(ours)} predictions as the source CLI")
    done = run([str(frozen), "evaluate", str(images)])
    print("frozen evaluate: " + done.stdout.splitlines()[0])
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

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BLOODCELL_REPORT_FIRST_WINDOW="1", BLOODCELL_QUIT_AFTER="6")
    with tempfile.TemporaryDirectory() as home:
        env["HOME"] = env["XDG_CONFIG_HOME"] = home  # fresh settings
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

    sizes = []
    for path in BUNDLE.rglob("*"):
        if path.is_file() and not path.is_symlink():
            sizes.append((path.stat().st_size, path.relative_to(BUNDLE)))
    total = sum(size for size, _ in sizes)
    print(f"bundle: {total / 2**30:.2f} GiB in {len(sizes)} files; largest:")
    for size, path in sorted(sizes, reverse=True)[:10]:
        print(f"  {size / 2**20:8.0f} MiB  {path}")


if __name__ == "__main__":
    main()
