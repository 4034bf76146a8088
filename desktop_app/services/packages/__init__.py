"""Reading submission packages (submission-format.md) as hostile input.

The intake service calls `read_and_stage()` inside its staging area and database
transaction; this package never touches the database. Everything that can be wrong
with a package comes back as one InputRejected listing every problem found.
"""

from desktop_app.services.packages.model import (
    CancelCheck,
    DeveloperInfo,
    ImportProgress,
    ModelInfo,
    PackageArtifact,
    PackageLimits,
    ProgressListener,
    ValidatedPackage,
)
from desktop_app.services.packages.reader import open_package, read_and_stage
from desktop_app.services.packages.source import Entry, EntryKind, PackageSource

__all__ = [
    "CancelCheck",
    "DeveloperInfo",
    "Entry",
    "EntryKind",
    "ImportProgress",
    "ModelInfo",
    "PackageArtifact",
    "PackageLimits",
    "PackageSource",
    "ProgressListener",
    "ValidatedPackage",
    "open_package",
    "read_and_stage",
]
