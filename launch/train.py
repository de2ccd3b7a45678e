"""`make train`: `rasa train --force` with glibc's allocator told to keep freed memory.

And with Rasa's training cache off: `--force` never reads it, so writing
each component's output into it (~/.rasa/cache) is only work and disk.

Usage: `python -m launch.train [rasa train options]`, for example
`--fixed-model-name hcsc-faq --out models --quiet`. It replaces itself with
`rasa train --force <options>` (same exit code) in an environment from
`training_env`, through launch/rasa_train.py, which skips the training
cache's fingerprints while the cache is off.

Why: DIET's training steps allocate and free buffers of a few megabytes each.
By default glibc serves those with mmap and gives them back with munmap
(and trims the heap) after each step, so the next step faults every page in
again. In the virtual machines this project is built and tested on
(Firecracker, free pages reported to the host), those faults are dear: in
interleaved runs `rasa train --force` took a median of 171 s as is and
112 s with these settings (5 runs each), with system CPU time down from 11
to 14 s to about 6 s (README, Speed and scale). The settings change where
memory comes from, not what is computed: the trained weights are bit for bit
the same. With the cache off too, 3 interleaved pairs: 99.2, 96.2 and
100.9 s against 100.1, 97.1 and 101.9 s (about 1 s less each time).
"""

import os
import sys
from typing import Dict, List, Mapping, Optional

from launch.paths import PROJECT_DIR

MIB = 2**20
# glibc's malloc tunables as environment variables (mallopt(3)): allocations
# up to 32 MiB come from the heap rather than mmap; up to 1 GiB free at the
# top of the heap stays there; each heap growth asks for 256 MiB more.
MALLOC_ENV: Dict[str, str] = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * MIB),
    "MALLOC_TRIM_THRESHOLD_": str(1024 * MIB),
    "MALLOC_TOP_PAD_": str(256 * MIB),
}

# Rasa's training cache (rasa/engine/caching.py): a size of 0 MB turns it off.
CACHE_ENV: Dict[str, str] = {"RASA_MAX_CACHE_SIZE": "0"}


def training_env(base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """`base` (default: this process's environment) with MALLOC_ENV and CACHE_ENV added.

    A value already set in `base` wins, so an operator can still choose.
    """
    env = dict(os.environ if base is None else base)
    for name, value in {**MALLOC_ENV, **CACHE_ENV}.items():
        env.setdefault(name, value)
    return env


def train_command(options: List[str]) -> List[str]:
    """`rasa train --force` with `options`, through launch/rasa_train.py (run from PROJECT_DIR)."""
    return [sys.executable, "-m", "launch.rasa_train", "train", "--force", *options]


def main(argv: Optional[List[str]] = None) -> None:
    """Replace this process with the training (never returns; OSError if rasa is missing)."""
    command = train_command(sys.argv[1:] if argv is None else argv)
    os.chdir(PROJECT_DIR)
    os.execve(command[0], command, training_env())


if __name__ == "__main__":
    main()
