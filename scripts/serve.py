"""`make run`: start the assistant in the foreground (the work is in launch/serve.py)."""

import sys

from launch.serve import main

if __name__ == "__main__":
    sys.exit(main())
