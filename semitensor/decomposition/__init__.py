"""Fitting routines of the STP decompositions (STTu, STT, STR)."""
