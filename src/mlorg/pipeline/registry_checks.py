"""Whether a registry is what its key signed (:mod:`mlorg.pipeline.integrity`): the registry's identity, every model
and deployment row's MAC and their chains, the chains against the head recorded beside the key, the aliases against
the history that set them, and every artifact's path and hash."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from mlorg.pipeline import integrity
from mlorg.pipeline.registry_errors import ArtifactError

# The signed fields of each row, in the order its MAC reads them; the first is the chain's order.
MODEL_FIELDS = ("version", "name", "params_json", "metrics_json", "artifact_path", "artifact_sha256", "dataset_id",
                "feature_version", "code_version", "created_at")
DEPLOYMENT_FIELDS = ("seq", "at", "version", "action", "alias", "previous_version", "reason", "actor")
CHAINS = (("models", "model", MODEL_FIELDS), ("deployments", "deployment", DEPLOYMENT_FIELDS))


class Registry(Protocol):
    """What the checks read of a registry (:class:`mlorg.pipeline.registry.Registry`)."""

    path: Path
    registry_id: str

    def signing_key(self, create: bool) -> bytes | None: ...
    def meta(self, key: str) -> str | None: ...
    def aliases(self) -> dict[str, int]: ...
    def signed_rows(self, table: str, fields: tuple, where: str = "true", params: list | None = None) -> list: ...
    def checked_payload(self, version: int, filename: str, expected: str) -> bytes: ...


def verify(registry: Registry) -> list[str]:
    """One message per problem; empty when the registry is intact."""
    key = registry.signing_key(create=False)
    if key is None:
        return [f"no registry key here ({integrity.KEY_ENV} or {integrity.config_dir()}/registry.key): the records "
                f"of {registry.path} cannot be checked"]
    problems = []
    expected = integrity.mac(key, registry.registry_id, "registry", [], integrity.GENESIS)
    if not integrity.same(registry.meta("registry_mac"), expected):
        problems.append(f"{registry.path} does not carry this key's signature of its identity (edited, or made with "
                        "another key)")
    ends = {}
    for table, kind, fields in CHAINS:
        previous, last = integrity.GENESIS, 0
        for *values, signature in registry.signed_rows(table, fields):
            previous = integrity.mac(key, registry.registry_id, kind, values, previous)
            if not integrity.same(signature, previous):
                problems.append(f"{kind} {values[0]} in {registry.path} is not signed by this key where it stands "
                                "(edited, inserted, reordered, or a row before it deleted)")
                previous = signature or integrity.GENESIS  # judge the next row on its own link
            last = int(values[0])
        ends[table] = last
    problems += _head_problems(registry, ends)
    problems += _alias_problems(registry)
    for version, filename, digest, _ in registry.signed_rows("models", ("version", "artifact_path",
                                                                         "artifact_sha256")):
        try:
            registry.checked_payload(int(version), filename, digest)
        except ArtifactError as exc:
            problems.append(str(exc))
    return problems


def _head_problems(registry: Registry, ends: dict[str, int]) -> list[str]:
    """A chain that ends before the head recorded beside the key was cut; one that ends after it is fine (a crash
    between a commit and the head's write: the extra rows are signed)."""
    try:
        head = integrity.read_head(registry.registry_id)
    except integrity.KeyProblem as exc:
        return [str(exc)]
    if head is None:
        return []  # never written on this machine: a cut tail cannot be told from here (see the README)
    problems = []
    for table, _, fields in CHAINS:
        last, order = ends[table], fields[0]
        recorded, recorded_mac = head.get(table, [0, integrity.GENESIS])
        if last < recorded:
            problems.append(f"{table} of {registry.path} end at {last or 'nothing'}, but this registry last wrote "
                            f"{recorded}: rows were cut from its end")
        elif recorded and not registry.signed_rows(table, (order,), f"{order} = ? AND mac = ?",
                                                   [recorded, recorded_mac]):
            problems.append(f"{table} row {recorded} of {registry.path} is not the one this registry wrote")
    return problems


def _alias_problems(registry: Registry) -> list[str]:
    """Aliases are what the history set them to, replayed in order."""
    replayed: dict[str, int] = {}
    for _, alias, version, action, _ in registry.signed_rows("deployments", ("seq", "alias", "version", "action")):
        if action == "retire":
            replayed.pop(alias, None)
        else:
            replayed[alias] = int(version)
    actual = registry.aliases()
    return [f"alias {alias} of {registry.path} points to {actual.get(alias)}, but its history says "
            f"{replayed.get(alias)}" for alias in sorted(set(replayed) | set(actual))
            if actual.get(alias) != replayed.get(alias)]
