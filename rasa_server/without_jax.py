"""TensorFlow without JAX: 66 MB less per Rasa server.

TensorFlow 2.12 lists JAX as a dependency, so pip installs it, and its TFLite
helpers import it when it is there (`tensorflow/lite/python/util.py`, inside
`try: ... except ImportError`). Rasa never converts JAX models, yet every
process that imports TensorFlow loaded JAX and its XLA library: measured on
this machine, importing TensorFlow holds 441 MB with JAX and 375 MB without,
and takes 0.35 s longer.
"""

import sys

JAX_MODULE = "jax"


def keep_jax_out() -> None:
    """Make `import jax` raise ImportError in this process, so TensorFlow skips it.

    Call before anything imports TensorFlow. Raises RuntimeError when JAX is
    already loaded (too late to keep it out).
    """
    loaded = sys.modules.get(JAX_MODULE, None)
    if loaded is not None:
        raise RuntimeError("JAX is already loaded; call keep_jax_out() before importing TensorFlow.")
    # None in sys.modules is Python's documented way to make an import fail.
    sys.modules[JAX_MODULE] = None  # type: ignore[assignment]
