"""`make catalogue`: every answer, for review (the work is in tools/catalogue.py)."""

import sys

from tools.catalogue import main

if __name__ == "__main__":
    sys.exit(main())
