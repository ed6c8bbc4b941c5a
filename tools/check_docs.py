"""Check that every file the README and docs/ cite exists in the repository: scripts, modules,
pictures and other documents. A citation is a relative path in backticks or a Markdown link
(`research/x.py`, `docs/y.md`, ![..](docs/z.png)); URLs, globs and paths the program itself
writes (named in WRITTEN) are not files of this repository.

    python -m tools.check_docs        # exits 1 and names each missing file
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".py", ".sh", ".md", ".png", ".json", ".toml", ".spec", ".txt", ".ipynb", ".safetensors")
# A script cited is one to run: it must be here, wherever its path points.
SCRIPTS = (".py", ".sh", ".ipynb")
# Paths that name what BloodCell or a command writes at run time, not files of the repository.
WRITTEN = ("dist/", "build/", "out/", "~/", "/", "../", "$")
CITATION = re.compile(r"`([^`\s]+)`|\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "research").rglob("*.md"))]


def cited_paths(text: str) -> set[str]:
    found = set()
    for match in CITATION.finditer(text):
        target = (match.group(1) or match.group(2)).split("#")[0].rstrip(".,;:")
        script = target.endswith(SCRIPTS)
        if "://" in target or "*" in target or (target.startswith(WRITTEN) and not script):
            continue
        if target.endswith(SUFFIXES) and "/" in target:
            found.add(target)
    return found


def missing() -> list[str]:
    problems = []
    for document in documents():
        for target in sorted(cited_paths(document.read_text(encoding="utf-8"))):
            if not ((ROOT / target).exists() or (document.parent / target).exists()):
                problems.append(f"{document.relative_to(ROOT)} cites {target}, which is not in the repository")
    return problems


def main() -> int:
    problems = missing()
    print("\n".join(problems) or f"every file cited in {len(documents())} documents exists")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
