"""Theory experiments (see ganlab.theory)."""
