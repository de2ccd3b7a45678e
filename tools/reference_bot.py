"""The bench's reference: Rasa's own starter bot (`rasa init`), served like the assistant.

`make bench` measures it in the same run as the assistant, with the same
message mix and load levels, so that the figure that matters is a ratio of
two measurements taken side by side on the same machine, not an absolute time
(issue 16). The starter bot is the one `rasa init --no-prompt` creates and
trains (its default pipeline and policies, no custom action, the in-memory
tracker store), served with its REST channel on a free port.
"""

import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from launch.servers import VENV_BIN, Output, ServerGroup, ServerProcess, free_port, quiet_env


def create_and_train(init_dir: Path, output: Output = None) -> float:
    """`rasa init --no-prompt` into `init_dir` (it trains the model); returns the seconds it took.

    Raises subprocess.CalledProcessError when Rasa fails.
    """
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(init_dir)],
        cwd=init_dir.parent,
        env=quiet_env(),
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    return time.perf_counter() - started


class ReferenceBot(ServerGroup):
    """The starter bot's Rasa server on a free port (REST channel, in-memory tracker store)."""

    def __init__(self, init_dir: Path, output: Output = None) -> None:
        models = sorted((init_dir / "models").glob("*.tar.gz"))
        if not models:
            raise FileNotFoundError(f"no trained model in {init_dir / 'models'}: run create_and_train first")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.rasa_server = ServerProcess(
            name=f"reference Rasa server :{self.port}",
            command=[
                str(VENV_BIN / "rasa"),
                "run",
                "--model",
                str(models[-1]),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.port),
                # Absolute: servers start in the project folder, whose own
                # endpoints.yml must not be read.
                "--credentials",
                str(init_dir / "credentials.yml"),
                "--endpoints",
                str(init_dir / "endpoints.yml"),
            ],
            ready_url=f"{self.base_url}/webhooks/rest/",
            env=quiet_env(),
            output=output,
        )

    @property
    def rest_url(self) -> str:
        """Where the bench posts messages: the starter bot's REST channel."""
        return f"{self.base_url}/webhooks/rest/webhook"

    @property
    def servers(self) -> List[ServerProcess]:
        return [self.rasa_server]


def new_init_dir(parent: Optional[Path] = None) -> Path:
    """A new empty folder for `rasa init`: without a prompt it needs one that exists and is empty."""
    init_dir = Path(tempfile.mkdtemp(prefix="hcsc-reference-", dir=parent)) / "starter"
    init_dir.mkdir()
    return init_dir
