"""Where the project's files are, from this file's place in the project."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The model `make train` writes and every launcher serves.
MODEL_PATH = PROJECT_DIR / "models" / "hcsc-faq.tar.gz"
