"""``python -m qflow.engines.swe2d CONTROL_FILE``: run a model with the built-in engine."""
import sys

from qflow.engines.swe2d.driver import main

if __name__ == "__main__":
    sys.exit(main())
