"""The shipped instrument library (YAML files beside this module)."""

from pathlib import Path

LIBRARY_DIR = Path(__file__).parent


def library_files() -> list[Path]:
    """The shipped instrument files, sorted by name."""
    return sorted(LIBRARY_DIR.glob("*.yaml"))
