"""The house's own rules: the engine's rooms import only downwards and without circles, and every
file the README and docs cite exists. Each checker is also shown a fault, so it can fail."""

from __future__ import annotations

from tools import check_docs, check_rooms


def test_the_engine_has_no_circles_and_no_back_arrows():
    assert check_rooms.problems() == []


def test_the_room_checker_finds_a_circle_and_a_lazy_import():
    assert check_rooms.circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    known = {"model.review.session", "model.images.scan"}
    source = "def f():\n    from model.review.session import ReviewSession\nNAME = 'model.images.scan.walk'\n"
    path = check_rooms.ROOT / "build" / "probe_module.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    try:
        assert check_rooms.imports_of(path, known) == known
    finally:
        path.unlink()


def test_every_file_the_readme_and_docs_cite_exists():
    assert check_docs.missing() == []


def test_the_docs_checker_sees_a_missing_script():
    cited = check_docs.cited_paths("run `research/no_such_probe.py` and see ![x](docs/gone.png); `out/a/run.sh`")
    assert cited == {"research/no_such_probe.py", "docs/gone.png", "out/a/run.sh"}
    assert check_docs.cited_paths("`out/results.jsonl` and `~/.config/BloodCell/x.json` and https://x/y.py") == set()


def test_the_readme_stays_a_guide():
    assert len((check_docs.ROOT / "README.md").read_text().splitlines()) <= 300


def project_classes() -> dict[str, list[str]]:
    """Every class in model/ and bloodcell_gui/, with the names of its bases."""
    import ast

    found: dict[str, list[str]] = {}
    for folder in ("model", "bloodcell_gui"):
        for path in (check_docs.ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = [base.id if isinstance(base, ast.Name) else ast.unparse(base) for base in node.bases]
                    found[f"{path.relative_to(check_docs.ROOT)}:{node.name}"] = bases
    return found


def test_the_window_is_composed_not_inherited():
    classes = project_classes()
    names = {key.split(":")[1] for key in classes}
    heavy = {key: bases for key, bases in classes.items() if len([b for b in bases if b in names]) > 2}
    assert heavy == {}
    window = check_docs.ROOT / "bloodcell_gui" / "main_window.py"
    assert len(window.read_text().splitlines()) <= 300
    assert [b for b in classes["bloodcell_gui/main_window.py:MainWindow"] if b in names] == ["MainLayout"]
