"""File paths in the config, resolved as Prometheus resolves them: a relative path is relative to
the directory of the config file that names it, not to wherever the exporter was started."""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

# The key of the validation context that holds the config file's directory (absent: the
# section did not come from a file, and a relative path stays relative to the working directory).
CONFIG_DIR = "config_dir"


def _resolve(path: Path, info: ValidationInfo) -> Path:
    try:
        path = path.expanduser()
    except RuntimeError:  # no $HOME, and the user is not in the password database
        raise ValueError("cannot expand '~': there is no home directory (set $HOME)") from None
    base = info.context.get(CONFIG_DIR) if isinstance(info.context, Mapping) else None
    if isinstance(base, Path) and not path.is_absolute():
        return base / path
    return path


ConfigPath = Annotated[Path, AfterValidator(_resolve)]
"""A config field naming a file or directory: ``~`` expanded, relative to the config file."""
