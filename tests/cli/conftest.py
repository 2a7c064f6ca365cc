"""Fixtures and helpers of the command's tests."""

import numpy as np
import pytest

from semitensor.cli import main

FORMATS = ["sttu", "stt", "str"]
RANKS = {"sttu": "4,2,2", "stt": "4,4", "str": "2,4,4"}


@pytest.fixture
def tensor_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((8, 6, 4)))
    return path


def run(capsys, *argv):
    """Run the command in-process; return (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(result, match, code=2):
    """A one-line error message on stderr, no traceback, with the given exit status."""
    status, _, err = result
    assert status == code, (status, err)
    assert err.startswith("semitensor: error: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


def assert_input_error(result, match):
    assert_error(result, match, code=2)
