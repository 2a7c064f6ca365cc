"""Package-wide rules: light import, module size, one-way data flow, no private reach-ins."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "semitensor"
SOURCES = sorted(PACKAGE.rglob("*.py"))

# Root-level modules every layer may use: the array namespace, the argument
# vocabulary, randomness, warnings and the kernels behind product.py.
INFRASTRUCTURE = {"_namespace", "_validation", "_random", "_memory", "exceptions", "_kernels"}

# Who may import whom (by top-level part of semitensor): data flows one way.
LAYERS = {
    "product": set(),
    "matrices": {"product"},
    "tenalg": {"product"},
    "formats": {"product", "tenalg"},
    "decomposition": {"formats", "tenalg", "product"},
}


def _module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path):
    """``(absolute module, imported names)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _subpackage(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "semitensor" else None


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"split these modules (one job each): {long}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_from_another_package(path):
    """A private module or name belongs to its own subpackage (infrastructure aside)."""
    mine = _subpackage(_module_name(path))
    for module, names in _imports(path):
        theirs = _subpackage(module)
        if theirs is None or theirs == mine or theirs in INFRASTRUCTURE:
            continue
        private_module = any(part.startswith("_") for part in module.split(".")[2:])
        private_names = [n for n in names if n.startswith("_")]
        assert not private_module, f"{path.name} imports the private module {module}"
        assert not private_names, f"{path.name} imports private {private_names} from {module}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_data_flows_one_way(path):
    mine = _subpackage(_module_name(path))
    if mine not in LAYERS:
        return
    for module, _ in _imports(path):
        theirs = _subpackage(module)
        if theirs is None or theirs == mine or theirs in INFRASTRUCTURE:
            continue
        assert theirs in LAYERS[mine], f"{mine} must not import {module} ({path.name})"


def test_private_reach_in_is_detected(tmp_path):
    """The checker itself can fail: a crafted module with a private import trips it."""
    fake = PACKAGE / "decomposition" / "_probe_for_test.py"
    fake.write_text("from ..formats._base import _FORMATS\n", encoding="utf-8")
    try:
        with pytest.raises(AssertionError, match="private module semitensor.formats._base"):
            test_no_private_name_from_another_package(fake)
    finally:
        fake.unlink()


def test_import_is_light():
    code = (
        "import sys, semitensor, semitensor.formats, semitensor.decomposition.sttu; "
        "heavy = [m for m in ('torch', 'numba', 'tensorly', 'matplotlib', 'dask') "
        "if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
