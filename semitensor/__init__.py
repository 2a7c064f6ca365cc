"""semitensor: semi-tensor products and STP-based tensor decompositions.

numpy arrays in, numpy out; torch tensors in, torch out (same device and dtype,
autograd kept). ``import semitensor`` imports neither torch nor numba.
"""

from .tenalg import fold, mode_dot, stp_mode_dot, unfold

__version__ = "0.1.0"

__all__ = ["fold", "mode_dot", "stp_mode_dot", "unfold"]
