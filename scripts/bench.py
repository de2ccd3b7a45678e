"""`make bench`: measure the assistant (the work is in tools/bench.py)."""

import sys

from tools.bench import main

if __name__ == "__main__":
    sys.exit(main())
