"""What makes a registry's records its own: a key kept outside the database, a MAC on every model and deployment
row chained to the row before, and the chain's head kept with the key.

The threat is someone who can write the registry's database file and its artifacts folder (a shared folder, a
copied registry) but cannot read the key. They can change any row, but cannot sign it:

* a model row names its artifact and that file's sha256; the row's MAC covers both, so pointing a row at another
  file, or writing another file's hash into it, breaks the MAC, and nothing is unpickled before the MAC, the
  artifact's path (confined to the artifacts folder) and the file's hash all check out;
* each row's MAC covers the MAC of the row before it (models by version, deployments by sequence), so a deleted,
  inserted or reordered row breaks the chain;
* the last row of each chain and its MAC are also written to a head file beside the key after every write, so a
  cut tail or an emptied table shows as a registry shorter than its head. A registry ahead of its head (a crash
  between the commit and the head's write) is fine: only the key could have signed the extra rows.

The key is ``$MLORG_REGISTRY_KEY`` if set, else the file ``registry.key`` in the config folder (``$MLORG_CONFIG_DIR``,
else ``$XDG_CONFIG_HOME/mlorg``, else ``~/.config/mlorg``), made with owner-only permissions on first use and
refused if others can read it. Whoever holds the key can sign anything: keep it where the registry's writers
cannot read it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from datetime import datetime
from pathlib import Path

from mlorg.durable import write_durably

KEY_ENV = "MLORG_REGISTRY_KEY"
MIN_KEY_CHARS = 16
GENESIS = "0" * 64  # the "previous MAC" of a chain's first row


class KeyProblem(RuntimeError):
    """The key cannot be found, made or trusted."""


def config_dir() -> Path:
    explicit = os.environ.get("MLORG_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "mlorg"


def load_key(create: bool) -> bytes | None:
    """The signing key; made when ``create`` and there is none (None when there is none and not ``create``)."""
    env = os.environ.get(KEY_ENV)
    if env is not None:
        if len(env) < MIN_KEY_CHARS:
            raise KeyProblem(f"{KEY_ENV} must hold at least {MIN_KEY_CHARS} characters")
        return env.encode()
    path = config_dir() / "registry.key"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not create:
            return None
        return _make_key(path)
    except OSError as exc:
        raise KeyProblem(f"cannot read the registry key {path}: {exc}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(f"the registry key {path} can be read by others (mode {stat.filemode(mode)}); "
                        f"`chmod 600 {path}`, since whoever reads it can sign forged records")
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise KeyProblem(f"cannot read the registry key {path}: {exc}") from None


def _make_key(path: Path) -> bytes:
    key = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return load_key(create=False) or key
    except OSError as exc:
        raise KeyProblem(f"cannot make the registry key {path}: {exc}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def mac(key: bytes, registry_id: str, kind: str, fields: list, previous: str) -> str:
    """HMAC-SHA256 of one row: its registry, its kind (model, deployment), its fields and the previous row's MAC."""
    message = json.dumps([registry_id, kind, [_plain(f) for f in fields], previous], separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


# ------------------------------------------------------------------------------------------------ heads

def _head_path(registry_id: str) -> Path:
    return config_dir() / "heads" / f"{hashlib.sha256(registry_id.encode()).hexdigest()[:32]}.json"


def read_head(registry_id: str) -> dict | None:
    """The last signed row of each chain, as recorded after the last write on this machine (None: never here)."""
    try:
        return json.loads(_head_path(registry_id).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise KeyProblem(f"cannot read the registry head {_head_path(registry_id)}: {exc}") from None


def write_head(registry_id: str, head: dict) -> None:
    """Record the chains' last rows (atomically: a reader sees the old head or the new one)."""
    _head_path(registry_id).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_durably(_head_path(registry_id), json.dumps(head).encode())
