"""Layers whose weights live in the STP formats STT, STR and STTu (needs torch).

`STTLinear`, `STRLinear` and `STTuLinear` replace `torch.nn.Linear`; `STPConv2d`
replaces `torch.nn.Conv2d` (its kernel matrix is held by one of them);
``from_linear`` / ``from_conv`` start from a trained layer through the library's
decompositions, and `compress_linear_layers` does that for a whole model. The guide
page ``docs/nn.md`` explains the layout, the choice of shapes, ranks and ``t``, and
what the layers are equivalent to.

Imported lazily: ``import semitensor`` does not import torch; ``semitensor.nn`` (or
``import semitensor.nn``) does.

Layout of the weight
--------------------
A layer maps ``in_features = ∏ in_shape`` to ``out_features = ∏ out_shape``. Its
weight ``W`` (``out_features × in_features``, as in `torch.nn.Linear`) is held as an
order-``2d`` tensor over the *interleaved* modes ``(I_1, O_1, …, I_d, O_d)``
(`matrix_to_tensor`, `tensor_to_matrix`), so ``in_shape`` and ``out_shape`` have the
same length ``d``. In a train or ring over ``in_shape + out_shape`` the one bond
between the last input and the first output mode would bound ``rank W``;
interleaving (the TT-matrix layout of Novikov et al. [1]_) pairs each input digit
with its output digit, so no single bond caps the rank. Each core still carries one
index, so the cores are exactly those of SPEC §4 (``to_format()``).

Modules: ``_layout`` (the layout and `factorize`), ``_contract`` (a batch through
the ring cores, and the cost model of the two forward paths), ``_base`` (what the
layers share), ``linear`` (`STTLinear`, `STRLinear`), ``tucker`` (`STTuLinear`),
``conv`` (`STPConv2d`), ``compress`` (`compress_linear_layers`), ``budget``
(`compress_model`: Linear and Conv2d layers by a ratio or a parameter budget).

References
----------
.. [1] A. Novikov, D. Podoprikhin, A. Osokin, D. Vetrov, "Tensorizing Neural
   Networks", NeurIPS 2015.
"""

from ._layout import factorize, matrix_to_tensor, tensor_to_matrix
from .budget import compress_model
from .compress import CompressionReport, compress_linear_layers
from .conv import STPConv2d
from .linear import STRLinear, STTLinear
from .tucker import STTuLinear

__all__ = [
    "STTLinear",
    "STRLinear",
    "STTuLinear",
    "STPConv2d",
    "CompressionReport",
    "compress_linear_layers",
    "compress_model",
    "factorize",
    "matrix_to_tensor",
    "tensor_to_matrix",
]
