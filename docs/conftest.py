"""pytest: the Markdown pages are doctested; the Sphinx config and build output are not."""

collect_ignore = ["conf.py"]
collect_ignore_glob = ["_build/*", "api/generated/*"]
