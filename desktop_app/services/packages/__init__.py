"""Reading submission packages (submission-format.md) as hostile input.

The intake service calls `read_and_stage()` inside its staging area and database
transaction; this package never touches the database. Everything that can be wrong
with a package comes back as one InputRejected listing every problem found.

The reader (and with it jsonschema, ~80 ms) is imported when `open_package` or
`read_and_stage` is first asked for: the eval-log reader and the detail pane use the
model, source and zip modules of this package, and the window should not wait for it.
"""

from typing import TYPE_CHECKING, Any

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
from desktop_app.services.packages.source import Entry, EntryKind, PackageSource

if TYPE_CHECKING:
    from desktop_app.services.packages.reader import open_package, read_and_stage

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


def __getattr__(name: str) -> Any:
    """`open_package` and `read_and_stage`, imported on first use (see the module docstring)."""
    if name in ("open_package", "read_and_stage"):
        from desktop_app.services.packages import reader

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
