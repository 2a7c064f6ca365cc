"""Every array entry point, fed every kind of array numpy users hold.

The contract: the result of the plain float64 call, or a ValueError/TypeError that
names the argument; never another exception, never a silent different answer, and
the input unchanged afterwards.
"""

import numpy as np
import pytest

from tests.adversarial.entries import (
    ENTRIES,
    FORMATS,
    comparable,
    format_arrays,
    valid_arguments,
)


def _negative_strides(a):
    return np.flip(np.flip(a).copy())  # equal values, every stride negative


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


# Kinds whose values equal the float64 array's: the result must be the same.
SAME_VALUES = {
    "list": lambda a: a.tolist(),
    "fortran": np.asfortranarray,
    "negative strides": _negative_strides,
    "read-only": _read_only,
    "big-endian": lambda a: a.astype(">f8"),
    "non-contiguous": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    "unmasked masked array": lambda a: np.ma.masked_array(a, mask=np.zeros(a.shape, bool)),
    "matrix": lambda a: np.asmatrix(a) if a.ndim == 2 else a,
    "object of floats": lambda a: a.astype(object),
}
# Kinds that hold no numbers: they must be refused.
NOT_NUMBERS = {
    "strings": lambda a: a.astype(str),
    "bytes": lambda a: a.astype(bytes),
    "datetimes": lambda a: np.zeros(a.shape, "datetime64[s]"),
    "timedeltas": lambda a: np.zeros(a.shape, "timedelta64[s]"),
    "structured": lambda a: np.zeros(a.shape, [("x", "f8"), ("y", "f8")]),
    "None-holding": lambda a: np.full(a.shape, None, dtype=object),
    "ragged": lambda a: [[1.0, 2.0], [3.0]],
}

CALLS = [(entry, arg) for entry, (_, shapes) in ENTRIES.items() for arg in shapes]


def _call(entry, arguments):
    return ENTRIES[entry][0](arguments)


def _refusal_names(exc, argument):
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert argument in str(exc), f"the message does not name {argument!r}: {exc}"


pytestmark = [
    pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),  # np.matrix itself
]


@pytest.mark.parametrize("kind", list(SAME_VALUES))
@pytest.mark.parametrize(("entry", "argument"), CALLS)
def test_same_values_give_the_same_result_or_a_named_refusal(entry, argument, kind):
    arguments = valid_arguments(entry)
    expected = comparable(_call(entry, arguments))
    hostile = SAME_VALUES[kind](arguments[argument])
    before = np.array(hostile, dtype=object, copy=True) if kind != "list" else None
    try:
        result = _call(entry, {**arguments, argument: hostile})
    except Exception as exc:  # noqa: BLE001 - the contract is checked on the type
        _refusal_names(exc, argument)
        return
    got = comparable(result)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=1e-10, atol=1e-12)
    if before is not None:  # inputs are never modified
        np.testing.assert_array_equal(np.array(hostile, dtype=object), before)


@pytest.mark.parametrize("kind", list(NOT_NUMBERS))
@pytest.mark.parametrize(("entry", "argument"), CALLS)
def test_arrays_that_hold_no_numbers_are_refused_naming_the_argument(entry, argument, kind):
    arguments = valid_arguments(entry)
    hostile = NOT_NUMBERS[kind](arguments[argument])
    with pytest.raises((TypeError, ValueError)) as info:
        _call(entry, {**arguments, argument: hostile})
    _refusal_names(info.value, argument)


@pytest.mark.parametrize("kind", list(NOT_NUMBERS))
@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("position", [0, 1])
def test_formats_refuse_arrays_that_hold_no_numbers(name, position, kind):
    arrays = format_arrays(name)
    arrays[position] = NOT_NUMBERS[kind](arrays[position])
    with pytest.raises((TypeError, ValueError)) as info:
        FORMATS[name][0](arrays)
    label = (f"cores[{position}]", "core", f"factors[{position - 1}]")
    assert any(s in str(info.value) for s in label), str(info.value)


@pytest.mark.parametrize("kind", list(SAME_VALUES))
@pytest.mark.parametrize("name", list(FORMATS))
def test_formats_take_every_layout_of_the_same_values(name, kind):
    arrays = format_arrays(name)
    expected = comparable(FORMATS[name][0](arrays))
    hostile = [SAME_VALUES[kind](a) for a in arrays]
    try:
        got = comparable(FORMATS[name][0](hostile))
    except (TypeError, ValueError) as exc:
        assert "core" in str(exc) or "factors" in str(exc), str(exc)
        return
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=1e-12, atol=1e-14)
