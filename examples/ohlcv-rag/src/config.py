"""Runtime configuration: the API key, from the environment or a secret file.

The key's value is never printed; callers only report whether it is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

ENV_VAR = "API_KEY"
SECRET_PATH = Path("/run/secrets/api_key")


def load_api_key(
    env: Optional[Mapping[str, str]] = None,
    secret_path: str | Path = SECRET_PATH,
) -> Optional[str]:
    """Return the API key from ``env[API_KEY]`` or else from ``secret_path``.

    ``env`` defaults to ``os.environ``. Surrounding whitespace is stripped;
    an empty value counts as unset. Returns ``None`` if neither source has one.
    """
    env = os.environ if env is None else env
    value = (env.get(ENV_VAR) or "").strip()
    if value:
        return value
    try:
        value = Path(secret_path).read_text(encoding="utf-8").strip()
    except OSError:  # missing, unreadable, or a directory
        return None
    return value or None


def api_key_status(**kwargs) -> str:
    """Describe whether an API key is configured, without revealing it."""
    return "API key: set" if load_api_key(**kwargs) else "API key: not set"
