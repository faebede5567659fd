"""`python -m ganlab ...` (what torchrun runs: `torchrun --nproc-per-node N -m ganlab train ...`)."""

if __name__ == "__main__":
    from ganlab.cli import main

    main()
