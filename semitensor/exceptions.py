"""Warning classes of the library, so users can filter them precisely."""

__all__ = ["SemitensorWarning", "ConvergenceWarning", "RankWarning"]


class SemitensorWarning(UserWarning):
    """Base class of every warning semitensor emits."""


class ConvergenceWarning(SemitensorWarning):
    """An iterative fit stopped before reaching its tolerance."""


class RankWarning(SemitensorWarning):
    """Requested ranks were changed (capped or rounded); the result records the ranks used."""
