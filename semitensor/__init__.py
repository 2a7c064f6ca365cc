"""semitensor: semi-tensor products and STP-based tensor decompositions.

numpy arrays in, numpy out; torch tensors in, torch out (same device and dtype,
autograd kept). ``import semitensor`` imports neither torch nor numba.
"""

from .decomposition.completion import complete
from .decomposition.str import str_decompose
from .decomposition.stt import stt_decompose
from .decomposition.sttu import sttu_decompose
from .exceptions import ConvergenceWarning, RankWarning, SemitensorWarning
from .formats import (
    STPFormat,
    STRTensor,
    STTTensor,
    STTuTensor,
    reconstruct,
    str_to_tensor,
    stt_to_tensor,
    sttu_to_tensor,
)
from .io import load, save
from .matrices import logical_vector, power_reducing_matrix, structure_matrix, swap_matrix
from .product import rstp, stp, stp_cost, stp_shape
from .tenalg import fold, mode_dot, stp_mode_dot, unfold

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "RankWarning",
    "STPFormat",
    "STRTensor",
    "STTTensor",
    "STTuTensor",
    "complete",
    "SemitensorWarning",
    "reconstruct",
    "str_decompose",
    "str_to_tensor",
    "stt_decompose",
    "stt_to_tensor",
    "sttu_decompose",
    "sttu_to_tensor",
    "fold",
    "load",
    "logical_vector",
    "power_reducing_matrix",
    "structure_matrix",
    "swap_matrix",
    "mode_dot",
    "rstp",
    "save",
    "stp",
    "stp_cost",
    "stp_mode_dot",
    "stp_shape",
    "unfold",
]


def __getattr__(name):
    # semitensor.nn needs torch, and semitensor.logic is a world of its own: both are
    # imported on first access only (PEP 562).
    if name in ("nn", "logic"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
