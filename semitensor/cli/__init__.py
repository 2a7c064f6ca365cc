"""The ``semitensor`` command (also ``python -m semitensor``).

`main` is the entry point; `semitensor.cli.main` holds the parser, ``commands`` the
sub-commands, ``demo`` the demo (its data, settings and TensorLy twins), and
``_table`` / ``_progress`` the result table and the progress bar.
"""

from .main import main

__all__ = ["main"]
