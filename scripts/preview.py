"""`make preview`: what the assistant answers, and why (the work is in tools/preview.py)."""

import sys

from tools.preview import main

if __name__ == "__main__":
    sys.exit(main())
