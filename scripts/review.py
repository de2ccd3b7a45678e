"""`make review`: the work is in tools/review.py."""

import sys

from tools.review import main

if __name__ == "__main__":
    sys.exit(main())
