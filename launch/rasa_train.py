"""Rasa's command line for `make train`, without fingerprints nobody reads.

Rasa's `TrainingHook` fingerprints each training graph node's inputs before
the node runs and its output after, only to store them in the training cache
(rasa/engine/caching.py). `make train` runs with the cache off
(`RASA_MAX_CACHE_SIZE=0`, launch/train.py), and then the cache's
`cache_output` returns at once: the fingerprints are computed for nothing.
They are not cheap: after each featuriser, every training message is hashed
with all its features, about 4.6 s of a 120 s training on this 2-core machine
(the gaps after each featuriser in `rasa train --debug`). With the cache off,
the hook does nothing here; with a cache, it is Rasa's. The trained model is
the same either way for this project's data (measured to the bit): the hook
only feeds the cache, and the one side effect of Rasa's fingerprinting, on
lookup tables read from files, does not arise (the project has none).

JAX is kept out as in the Rasa server (rasa_server/without_jax.py).

Usage: `python -m launch.rasa_train train --force [options]`, as
launch/train.py runs it; any other `rasa` command line works too.
"""

import sys
from typing import Any, Dict, Text

from rasa_server.without_jax import keep_jax_out


def cache_is_off(cache: Any) -> bool:
    """True for Rasa's local training cache with a maximum size of 0 MB (it stores nothing)."""
    from rasa.engine.caching import LocalTrainingCache

    # _is_disabled is the cache's own test, the one cache_output makes.
    return isinstance(cache, LocalTrainingCache) and cache._is_disabled()


def skip_fingerprints_when_the_cache_is_off() -> None:
    """Make Rasa's TrainingHook do nothing when its cache is off; Rasa's hook otherwise."""
    from rasa.engine.training.hooks import TrainingHook

    rasa_on_before_node = TrainingHook.on_before_node
    rasa_on_after_node = TrainingHook.on_after_node
    if getattr(rasa_on_before_node, "skips_fingerprints", False):
        return  # already installed

    def on_before_node(self: TrainingHook, *args: Any, **kwargs: Any) -> Dict[Text, Any]:
        if cache_is_off(self._cache):
            return {}
        return rasa_on_before_node(self, *args, **kwargs)

    def on_after_node(self: TrainingHook, *args: Any, **kwargs: Any) -> None:
        if cache_is_off(self._cache):
            return None
        return rasa_on_after_node(self, *args, **kwargs)

    on_before_node.skips_fingerprints = True  # type: ignore[attr-defined]
    TrainingHook.on_before_node = on_before_node
    TrainingHook.on_after_node = on_after_node


def main() -> None:
    """Run Rasa's command line with sys.argv[1:] (exits with Rasa's exit code)."""
    keep_jax_out()
    skip_fingerprints_when_the_cache_is_off()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
