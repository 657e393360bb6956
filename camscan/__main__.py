"""`python -m camscan` runs the command line."""

from camscan.cli import main

main()
