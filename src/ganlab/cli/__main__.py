"""`python -m ganlab.cli ...`: the command line (how study workers are started)."""

from ganlab.cli import main

if __name__ == "__main__":
    main()
