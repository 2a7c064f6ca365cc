"""Inner loops behind `semitensor.product`: array-API kernels and optional numba ones."""
