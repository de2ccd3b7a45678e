"""`make purge`: the work is in tools/purge.py."""

import sys

from tools.purge import main

if __name__ == "__main__":
    sys.exit(main())
