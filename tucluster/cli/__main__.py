"""``python -m tucluster.cli``: the ``tucluster`` command where no console script is on PATH."""
from tucluster.cli import main

main()
