"""The same entry points on torch: views, autograd, meta tensors and mixed libraries."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.adversarial.entries import (  # noqa: E402
    ENTRIES,
    FORMATS,
    comparable,
    format_arrays,
    valid_arguments,
)

pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")

CALLS = [(entry, arg) for entry, (_, shapes) in ENTRIES.items() for arg in shapes]
PAIRS = [entry for entry, (_, shapes) in ENTRIES.items() if len(shapes) > 1]
FITS = ["stt_decompose", "str_decompose", "sttu_decompose"]

TORCH_KINDS = {
    "tensor": torch.as_tensor,
    "non-contiguous": lambda a: torch.as_tensor(np.repeat(a, 2, axis=-1))[..., ::2],
    "transposed view": lambda a: torch.as_tensor(np.ascontiguousarray(a.T)).permute(
        *range(a.ndim - 1, -1, -1)
    ),
    "requires_grad": lambda a: torch.as_tensor(a).requires_grad_(True),
}


def _torch_arguments(entry, kind):
    return {k: TORCH_KINDS[kind](v) for k, v in valid_arguments(entry).items()}


@pytest.mark.parametrize("kind", list(TORCH_KINDS))
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_torch_views_give_the_numpy_result_and_stay_unchanged(entry, kind):
    expected = comparable(ENTRIES[entry][0](valid_arguments(entry)))
    arguments = _torch_arguments(entry, kind)
    before = {k: v.detach().clone() for k, v in arguments.items()}
    result = ENTRIES[entry][0](arguments)
    got = result.to_tensor() if hasattr(result, "to_tensor") else result
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(comparable(got), expected, rtol=1e-9, atol=1e-11)
    for k, v in arguments.items():
        assert torch.equal(v.detach(), before[k])


@pytest.mark.parametrize("entry", PAIRS)
def test_mixing_numpy_and_torch_is_a_type_error_naming_both(entry):
    arguments = valid_arguments(entry)
    first, second = list(arguments)
    mixed = {first: arguments[first], second: torch.as_tensor(arguments[second])}
    with pytest.raises(TypeError, match=r"cannot mix array libraries") as info:
        ENTRIES[entry][0](mixed)
    assert first in str(info.value) and second in str(info.value)


@pytest.mark.parametrize("name", list(FORMATS))
def test_formats_refuse_mixed_libraries(name):
    arrays = format_arrays(name)
    arrays[1] = torch.as_tensor(arrays[1])
    with pytest.raises(TypeError, match=r"cannot mix array libraries"):
        FORMATS[name][0](arrays)


@pytest.mark.parametrize("entry", FITS)
def test_fits_refuse_meta_tensors(entry):
    with pytest.raises(ValueError, match=r"meta device"):
        ENTRIES[entry][0]({"tensor": torch.empty((8, 6, 4), device="meta")})


@pytest.mark.parametrize(("entry", "argument"), [c for c in CALLS if c[0] not in FITS])
def test_the_algebra_infers_shapes_on_meta_tensors(entry, argument):
    # Shape-only tensors flow through the algebra (as through torch's own ops), so
    # model code can be traced on the meta device.
    arguments = _torch_arguments(entry, "tensor")
    expected = ENTRIES[entry][0](arguments)
    meta = {k: v.to("meta") for k, v in arguments.items()}
    got = ENTRIES[entry][0](meta)
    assert got.device.type == "meta" and got.shape == expected.shape


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.bool])
@pytest.mark.parametrize("entry", ["stp", "rstp", "stp_mode_dot", "mode_dot"])
def test_narrow_and_integer_torch_dtypes_match_numpy_or_are_refused(entry, dtype):
    arguments = valid_arguments(entry)
    if dtype == torch.bool:
        arguments = {k: v > 0 for k, v in arguments.items()}
    torch_args = {k: torch.as_tensor(v).to(dtype) for k, v in arguments.items()}
    try:
        got = ENTRIES[entry][0](torch_args)
    except (TypeError, ValueError) as exc:
        assert any(k in str(exc) for k in arguments) or "dtype" in str(exc), str(exc)
        return
    host = {k: v.float().numpy().astype(np.float64) for k, v in torch_args.items()}
    expected = comparable(ENTRIES[entry][0](host))
    tol = {torch.float16: 2e-2, torch.bfloat16: 5e-2}.get(dtype, 0)
    if dtype == torch.bool:
        expected = expected > 0
    np.testing.assert_allclose(comparable(got).astype(np.float64), expected, rtol=tol, atol=tol)
