"""The API reference lists every public name (docs/api.md is written by hand)."""

import ast
import importlib
import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"\.\. auto(?:function|class):: ([\w.]+)", API))
DOCUMENTED_NAMES = {path.rsplit(".", 1)[1] for path in DOCUMENTED}

MODULES = [
    "semitensor",
    "semitensor.formats.stt",
    "semitensor.formats.str",
    "semitensor.decomposition.stt",
    "semitensor.decomposition.str",
    "semitensor.io",
    "semitensor.nn",
]


def _public_names(module):
    """``__all__`` of a module, read from its source (semitensor.nn needs torch)."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        pytest.skip(f"{module} is not in this tree")
    tree = ast.parse(pathlib.Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_in_the_api_reference(module):
    missing = [n for n in _public_names(module) if n not in DOCUMENTED_NAMES]
    assert not missing, f"add {missing} from {module} to docs/api.md"


def test_api_reference_names_exist():
    for path in DOCUMENTED:
        module, _, name = path.rpartition(".")
        if module.startswith("semitensor.nn"):
            pytest.importorskip("torch")
        assert hasattr(importlib.import_module(module), name), path
