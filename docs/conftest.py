"""pytest: the Markdown pages are doctested; the Sphinx config and build output are not."""

import importlib.util

collect_ignore = ["conf.py"]
collect_ignore_glob = ["_build/*", "api/generated/*"]
if importlib.util.find_spec("torch") is None:  # torch is optional: its page needs it
    collect_ignore_glob.append("nn.md")
