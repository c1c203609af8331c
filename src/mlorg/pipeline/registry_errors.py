"""What goes wrong with a registry, as its callers catch it."""


class RegistryError(RuntimeError):
    """The registry cannot be opened, or was asked for something it does not hold or cannot accept."""


class ArtifactError(RegistryError):
    """A model's record or file fails its checks: the file is missing, outside the artifacts folder or no longer
    matches its hash, or the record is not signed by the registry's key."""
