"""Boolean and k-valued logic in the STP's own δ-form (Cheng's conventions).

Truth degree 1 (true) is the first unit vector ``δ_k^1`` (index 0), ``x_1`` is the
slowest digit of a state, and a logical matrix ``δ_m[i_1 … i_n]`` is stored as its
column indices (`LogicalMatrix`). Networks (`BooleanNetwork`) give their transition
matrix ``L`` in that form, and every analysis works on it without a dense matrix.
Only numpy is imported here; numba is imported on the first attractor search.
"""

from ._matrix import LogicalMatrix
from .analysis import Dynamics, attractors, cycle_counts, dynamics, fixed_points
from .control import closed_loop, controllability_matrix, reachable_states, stabilizing_feedback
from .network import BooleanNetwork
from .operators import (
    conjunction,
    disjunction,
    equivalence,
    exclusive_or,
    front_maintaining,
    implication,
    negation,
    power_reducing_matrix,
    rear_maintaining,
    retriever,
    swap_matrix,
)
from .states import state_index, state_values, state_vector, vector_index

__all__ = [
    "BooleanNetwork",
    "Dynamics",
    "LogicalMatrix",
    "attractors",
    "closed_loop",
    "conjunction",
    "controllability_matrix",
    "cycle_counts",
    "disjunction",
    "dynamics",
    "equivalence",
    "exclusive_or",
    "fixed_points",
    "front_maintaining",
    "implication",
    "negation",
    "power_reducing_matrix",
    "reachable_states",
    "rear_maintaining",
    "retriever",
    "stabilizing_feedback",
    "state_index",
    "state_values",
    "state_vector",
    "swap_matrix",
    "vector_index",
]
