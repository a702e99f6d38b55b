"""Host tools for ulab_ml."""
