"""Single-layer benchmark models (the shapes of the CMSIS-NN anchor figures)."""
