"""Every array entry point at the edges of the values: NaN/Inf, empty, 0-d, extremes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from tests.adversarial.entries import ENTRIES, comparable, valid_arguments
from tests.oracles import kron_stp

pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")

FITS = ["stt_decompose", "str_decompose", "sttu_decompose"]
CALLS = [(entry, arg) for entry, (_, shapes) in ENTRIES.items() for arg in shapes]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("entry", FITS)
def test_fits_refuse_nan_and_inf_naming_the_tensor(entry, bad):
    arguments = valid_arguments(entry)
    arguments["tensor"][1, 2, 3] = bad
    with pytest.raises(ValueError, match=r"tensor contains NaN or Inf"):
        ENTRIES[entry][0](arguments)


@pytest.mark.parametrize(("entry", "argument"), CALLS)
def test_zero_d_arguments_are_refused_naming_them(entry, argument):
    arguments = valid_arguments(entry)
    before = {k: v.copy() for k, v in arguments.items()}
    with pytest.raises((ValueError, TypeError)) as info:
        ENTRIES[entry][0]({**arguments, argument: np.float64(1.5)})
    assert argument in str(info.value), str(info.value)
    for k, v in arguments.items():  # the other arguments are untouched
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize(("entry", "argument"), CALLS)
@pytest.mark.parametrize("axis", [0, -1])
def test_zero_sizes_give_an_empty_result_or_a_named_refusal(entry, argument, axis):
    arguments = valid_arguments(entry)
    shape = list(arguments[argument].shape)
    shape[axis] = 0
    try:
        result = ENTRIES[entry][0]({**arguments, argument: np.zeros(shape)})
    except (ValueError, TypeError) as exc:
        assert argument in str(exc) or "size" in str(exc), str(exc)
        return
    assert comparable(result).size == 0


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(("a", "b"), [((0, 6), (3, 5)), ((4, 6), (3, 0)), ((4, 0), (0, 5))])
def test_empty_products_match_the_kronecker_definition(a, b, side):
    A, B = np.ones(a), np.ones(b)
    try:
        expected = kron_stp(A, B, side)
    except (ValueError, ZeroDivisionError):  # lcm(0, p) is undefined: refusal expected
        with pytest.raises(ValueError, match=r"arrays\[\d\]|size"):
            semitensor.stp(A, B, side=side)
        return
    got = semitensor.stp(A, B, side=side)
    assert got.shape == expected.shape


_dims = st.integers(1, 7)


@settings(max_examples=60, deadline=None)
@given(m=_dims, n=_dims, p=_dims, q=_dims, k=st.integers(-960, 960), seed=st.integers(0, 99))
def test_stp_is_exactly_scale_equivariant_over_the_whole_exponent_range(m, n, p, q, k, seed):
    # A power of two scales every rounding exactly while no partial sum leaves the
    # normal range, so the product of a scaled operand is the scaled product, bit for
    # bit: a kernel that squares, splits or accumulates in a narrower type fails this.
    rng = np.random.default_rng(seed)
    A, B = rng.uniform(0.5, 1.0, (m, n)), rng.uniform(0.5, 1.0, (p, q))
    for side in ("left", "right"):
        ref = semitensor.stp(A, B, side=side)
        got = semitensor.stp(np.ldexp(A, k), B, side=side)
        np.testing.assert_array_equal(got, np.ldexp(ref, k))


@settings(max_examples=12, deadline=None)
@given(
    entry=st.sampled_from(FITS),
    k=st.sampled_from([-1070, -1000, -600, -120, 120, 600, 1000, 1015]),
    seed=st.integers(0, 9),
)
def test_fits_are_scale_invariant_from_subnormals_to_the_largest_floats(entry, k, seed):
    arguments = valid_arguments(entry, seed)
    x = arguments["tensor"] / np.abs(arguments["tensor"]).max()
    ref = ENTRIES[entry][0]({"tensor": x})
    scaled = np.ldexp(x, k)
    if k < -1022:  # subnormal data: a few digits survive, a rounded fit is all one gets
        dec = ENTRIES[entry][0]({"tensor": scaled})
        assert np.all(np.isfinite(dec.info.errors)) and 0 < dec.info.rel_error < 1.01
        return
    dec = ENTRIES[entry][0]({"tensor": scaled})
    assert dec.info.rel_error == pytest.approx(ref.info.rel_error, rel=1e-9)
    got = comparable(dec)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(np.ldexp(got, -k), comparable(ref), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("entry", FITS)
@pytest.mark.parametrize("scale", [np.finfo(np.float32).max / 8, np.finfo(np.float32).tiny])
def test_float32_fits_at_the_float32_limits_stay_finite_and_float32(entry, scale):
    arguments = valid_arguments(entry)
    x = (arguments["tensor"] / np.abs(arguments["tensor"]).max() * scale).astype(np.float32)
    dec = ENTRIES[entry][0]({"tensor": x})
    full = comparable(dec)
    assert full.dtype == np.float32 and np.all(np.isfinite(full))
    assert 0 < dec.info.rel_error < 1
