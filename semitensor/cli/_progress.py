"""The command's progress bar: tqdm on stderr, only where a person watches."""

from __future__ import annotations

import sys

__all__ = ["Progress", "show_progress"]


def show_progress(args):
    """Whether to draw a bar: not ``--quiet`` and stderr is a terminal (not a log file)."""
    return not args.quiet and sys.stderr.isatty()


class Progress:
    """A tqdm bar on stderr, or nothing (when quiet or stderr is not a terminal)."""

    def __init__(self, enabled, total, desc, unit):
        self.bar = None
        if enabled:
            # tqdm is imported here so that a quiet or piped run never loads it.
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def fit_callback(self, iteration, decomposition, rel_error):
        """Callback for the fitting functions: position and current relative error."""
        if self.bar is not None:
            self.bar.n = min(iteration, self.bar.total)
            self.bar.set_postfix_str(f"rel. error {rel_error:.4f}", refresh=True)
        return False

    def step(self, label):
        """Advance one fit (the demo) and show its label."""
        if self.bar is not None:
            if self.bar.desc:
                self.bar.update(1)
            self.bar.set_description_str(label)

    def close(self):
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.close()
