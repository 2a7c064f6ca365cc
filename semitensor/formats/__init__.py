"""Result formats of the STP decompositions (STTu, STT, STR)."""
