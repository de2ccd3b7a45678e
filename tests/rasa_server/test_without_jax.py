"""The Rasa server runs TensorFlow without loading JAX (rasa_server/without_jax.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from launch.paths import PROJECT_DIR
from launch.servers import Assistant

TENSORFLOW_WITHOUT_JAX = """
from rasa_server.without_jax import keep_jax_out
keep_jax_out()
import sys, tensorflow
from tensorflow.lite.python import util
assert util._xla_computation is None, "TFLite found JAX"
assert sys.modules["jax"] is None and "jaxlib" not in sys.modules, "JAX was loaded"
print("ok")
"""

TOO_LATE = """
import jax
from rasa_server.without_jax import keep_jax_out
try:
    keep_jax_out()
except RuntimeError as error:
    print("refused:", error)
"""


def run_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=300
    ).stdout


def test_tensorflow_loads_and_skips_jax_once_it_is_kept_out() -> None:
    assert run_python(TENSORFLOW_WITHOUT_JAX).strip() == "ok"


def test_keeping_jax_out_after_it_loaded_is_refused() -> None:
    assert "refused: JAX is already loaded" in run_python(TOO_LATE)


def loaded_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.slow
def test_the_running_rasa_server_has_tensorflow_but_not_jax(assistant: Assistant) -> None:
    process = assistant.rasa_server.process
    assert process is not None
    libraries = loaded_libraries(process.pid)
    assert "tensorflow" in libraries
    assert "jaxlib" not in libraries and "/jax/" not in libraries
