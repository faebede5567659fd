"""`python -m ganlab ...` (what torchrun runs: `torchrun --nproc-per-node N -m ganlab train ...`)."""

from ganlab.cli import main

main()
