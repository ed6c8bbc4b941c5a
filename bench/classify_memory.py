"""Peak memory while classifying 20,000 images (TEST repeated through links) against 2,000.

Each run is a fresh process, so its peak resident set is its own. Target: ratio <= 1.2x.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import image_files, parser


def linked_copies(files: list[Path], count: int, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        source = files[i % len(files)]
        (folder / f"{i:06d}{source.suffix}").symlink_to(source)
    return folder


def child(folder: str, model: str) -> None:
    from model.modelfile.opening import open_classifier

    classifier = open_classifier(model)
    n = sum(1 for _ in classifier.classify([Path(folder)]))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} {peak_mib:.1f}")


def main() -> None:
    args = parser(__doc__).parse_args()
    files = image_files(args.data / "TEST")
    with tempfile.TemporaryDirectory() as scratch:
        peaks = {}
        for count in (2000, 20000):
            folder = linked_copies(files, count, Path(scratch) / str(count))
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), str(args.model)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert int(out[0]) == count
            peaks[count] = float(out[1])
            print(f"{count:6d} images: peak resident memory {peaks[count]:8.1f} MiB")
    print(f"ratio 20,000 / 2,000 images   {peaks[20000] / peaks[2000]:6.3f}x   (target <= 1.2x)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
