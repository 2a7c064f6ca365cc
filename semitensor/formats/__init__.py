"""Result formats of the STP decompositions (STTu, STT, STR) and their registry.

Importing this package registers every format (`registered_formats`), so that
`format_class` and `format_of` know all of them.
"""

from ._base import STPFormat, format_class, format_of, reconstruct, registered_formats
from .str import STRTensor, str_to_tensor
from .stt import STTTensor, stt_to_tensor
from .sttu import STTuTensor, sttu_to_tensor

__all__ = [
    "STPFormat",
    "STRTensor",
    "STTTensor",
    "STTuTensor",
    "format_class",
    "format_of",
    "reconstruct",
    "registered_formats",
    "str_to_tensor",
    "stt_to_tensor",
    "sttu_to_tensor",
]
