"""Collection rules for the whole repository (pytest reads this file first).

torch is optional: without it the doctests of `semitensor.nn` and of the pages that
use torch cannot even be imported, so they are left out instead of erroring.
"""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob += ["semitensor/nn/*.py"]
