"""The type stubs name exactly what the extension module holds, and every public item has a
docstring."""

import ast
import inspect
from pathlib import Path

import ttfs
from ttfs import _ttfs

STUBS = Path(ttfs.__file__).with_name("_ttfs.pyi")


def stubbed():
    """Top-level names of the stub file, and for each class its members."""
    tree = ast.parse(STUBS.read_text())
    names, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        if isinstance(node, ast.ClassDef):
            members[node.name] = {
                n.name for n in node.body if isinstance(n, ast.FunctionDef)
            }
    return names, members


def test_the_stubs_name_what_the_module_holds():
    names, members = stubbed()
    public = {n for n in dir(_ttfs) if not n.startswith("_")} | {"__version__"}
    assert names - {"PathLike"} == public
    assert set(ttfs.__all__) == public
    for cls, declared in members.items():
        kind = getattr(_ttfs, cls)
        if issubclass(kind, Exception):
            continue
        actual = {n for n, _ in inspect.getmembers(kind) if not n.startswith("_")}
        assert declared == actual, cls


def test_every_public_item_has_a_docstring():
    for name in ttfs.__all__:
        item = getattr(ttfs, name)
        if name == "__version__":
            continue
        assert (item.__doc__ or "").strip(), name
        if inspect.isclass(item) and not issubclass(item, Exception):
            for member, value in inspect.getmembers(item):
                if not member.startswith("_"):
                    assert (value.__doc__ or "").strip(), f"{name}.{member}"
