"""`python -m camlab` runs the lab's command line (this is what `camscan lab` hands over to)."""

from camlab.cli import main

main()
