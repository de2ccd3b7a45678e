"""`make run-cluster`: several servers behind nginx (the work is in launch/cluster.py)."""

import sys

from launch.cluster import main

if __name__ == "__main__":
    sys.exit(main())
