"""A progress bar for long fits, shown when ``verbose`` is set and a person is watching."""

from __future__ import annotations

__all__ = ["SweepBar"]


class SweepBar:
    """One tqdm bar per fit: a tick and the current error per sweep.

    Only with ``verbose=True``, and (tqdm's ``disable=None``) only when stderr is a
    terminal, so logs and CI output stay clean; tqdm is imported only then.
    """

    def __init__(self, enabled, total, desc):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="sweep", disable=None, leave=False)

    def update(self, err):
        if self._bar is not None:
            self._bar.set_postfix_str(f"error {err:.3e}", refresh=False)
            self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()
