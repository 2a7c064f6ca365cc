"""The public entry points that take arrays, each with a valid call to perturb.

Every entry is ``name -> (call, arguments)``: ``call(arguments)`` (a dict) is a valid call,
and the suite replaces one argument at a time by a hostile version of it. The
argument names are the ones the library's messages use, so a refusal can be checked
to name what it refuses.
"""

import numpy as np

import semitensor as st
from semitensor.formats import STRTensor, STTTensor, STTuTensor


def _rng(seed):
    return np.random.default_rng(seed)


def _cores(shapes, seed):
    rng = _rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _fit(decompose, **kw):
    # Few sweeps and no tolerance: the suite checks contracts, not convergence.
    return lambda a: decompose(a["tensor"], n_iter_max=3, tol=0.0, random_state=0, **kw)


ENTRIES = {
    "stp": (lambda a: st.stp(a["arrays[0]"], a["arrays[1]"]),
            {"arrays[0]": (4, 6), "arrays[1]": (3, 5)}),
    "rstp": (lambda a: st.rstp(a["arrays[0]"], a["arrays[1]"]),
             {"arrays[0]": (4, 6), "arrays[1]": (3, 5)}),
    "stp_mode_dot": (lambda a: st.stp_mode_dot(a["tensor"], a["matrix"], 1),
                     {"tensor": (2, 6, 3), "matrix": (4, 3)}),
    "mode_dot": (lambda a: st.mode_dot(a["tensor"], a["matrix_or_vector"], 1),
                 {"tensor": (2, 6, 3), "matrix_or_vector": (4, 6)}),
    "unfold": (lambda a: st.unfold(a["tensor"], 1), {"tensor": (2, 6, 3)}),
    "fold": (lambda a: st.fold(a["matrix"], 1, (2, 6, 3)), {"matrix": (6, 6)}),
    "stt_decompose": (_fit(st.stt_decompose, ranks=4, t=2, warmup=0), {"tensor": (8, 6, 4)}),
    "str_decompose": (_fit(st.str_decompose, ranks=4, t=2, warmup=0), {"tensor": (8, 6, 4)}),
    "sttu_decompose": (_fit(st.sttu_decompose, ranks=[4, 2, 2], t=2), {"tensor": (8, 6, 4)}),
}  # fmt: skip

# Formats take their arrays inside lists: the suite perturbs one of them.
FORMATS = {
    "STTTensor": (lambda c: STTTensor([c[0], c[1], c[2]], 2),
                  [(1, 4, 4), (2, 3, 2), (4, 2, 1)]),
    "STRTensor": (lambda c: STRTensor([c[0], c[1], c[2]], 2),
                  [(4, 4, 4), (2, 3, 2), (2, 2, 2)]),
    "STTuTensor": (lambda c: STTuTensor(c[0], [c[1], c[2]], 2), [(4, 2), (3, 2), (2, 1)]),
}  # fmt: skip
FORMAT_NAMES = {"STTTensor": "cores", "STRTensor": "cores", "STTuTensor": None}


def valid_arguments(entry, seed=0):
    """The valid float64 arguments of ``entry`` (fresh arrays each call)."""
    _, shapes = ENTRIES[entry]
    rng = _rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def format_arrays(name, seed=0):
    """The valid float64 arrays of format ``name`` (fresh arrays each call)."""
    return _cores(FORMATS[name][1], seed)


def comparable(result):
    """A numpy array to compare results by (formats by their full tensor)."""
    if hasattr(result, "to_tensor"):
        result = result.to_tensor()
    if hasattr(result, "detach"):
        result = result.detach().cpu()
        if str(result.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            result = result.float()
        result = result.numpy()
    return np.asarray(result)
