"""Entry point: apply the fixes, then hand over to Rasa's command line.

With RASA_API_TOKEN set, `run` opens the HTTP API for that token only
(rasa_server/api_token.py). JAX is kept out first, before TensorFlow loads
(rasa_server/without_jax.py).
"""

import os
import sys

from rasa_server.without_jax import keep_jax_out

if __name__ == "__main__":
    keep_jax_out()
    from rasa_server.api_token import with_api_token
    from rasa_server.fixes import apply_fixes

    sys.argv = with_api_token(sys.argv, os.environ)
    apply_fixes()
    from rasa.__main__ import main

    main()
