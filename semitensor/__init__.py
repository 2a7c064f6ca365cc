"""semitensor: semi-tensor products and STP-based tensor decompositions.

numpy arrays in, numpy out; torch tensors in, torch out (same device and dtype,
autograd kept). ``import semitensor`` imports neither torch nor numba.
"""

from .decomposition.sttu import sttu_decompose
from .exceptions import ConvergenceWarning, RankWarning, SemitensorWarning
from .formats._base import STPFormat, reconstruct
from .formats.sttu import STTuTensor, sttu_to_tensor
from .matrices import logical_vector, power_reducing_matrix, structure_matrix, swap_matrix
from .product import rstp, stp, stp_cost, stp_shape
from .tenalg import fold, mode_dot, stp_mode_dot, unfold

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "RankWarning",
    "STPFormat",
    "STTuTensor",
    "SemitensorWarning",
    "reconstruct",
    "sttu_decompose",
    "sttu_to_tensor",
    "fold",
    "logical_vector",
    "power_reducing_matrix",
    "structure_matrix",
    "swap_matrix",
    "mode_dot",
    "rstp",
    "stp",
    "stp_cost",
    "stp_mode_dot",
    "stp_shape",
    "unfold",
]
