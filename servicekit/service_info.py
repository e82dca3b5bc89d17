"""``service.json``: how a running service tells people and tools where it is.

Written on start to ``<data-dir>/service.json`` with mode 0600, as the
command-line contract says: ``{"name", "role", "base_url", "did",
"admin_api_key"}`` plus service-specific members. The admin key is generated
on first start and kept across restarts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from servicekit.auth import generate_api_key

__all__ = ["load_or_create_admin_key", "read_service_json", "write_private_json"]

SERVICE_FILE = "service.json"
ADMIN_KEY_FILE = "admin_api_key"


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_service_json(data_dir: Path) -> dict[str, Any] | None:
    """The ``service.json`` in ``data_dir``, or None when there is none."""
    path = data_dir / SERVICE_FILE
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load_or_create_admin_key(data_dir: Path) -> str:
    """The service's admin key: read from ``<data-dir>/admin_api_key`` or made once."""
    path = data_dir / ADMIN_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = generate_api_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
