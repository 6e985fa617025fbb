"""The account's network inventory: names for the addresses and interfaces of the flow logs.

    snap = read_dir(Path("inventory/"))        # the AWS CLI's describe outputs, unchanged
    snap = aws.collect(aws.client())           # or the EC2 API (flowdigest.inventory.aws)
    index = NameIndex(snap)
    index.names_for(["10.0.1.17", "eni-0a1b…"], service_tags={"52.216.8.1": "S3"})

The snapshot is JSON (`snap.model_dump_json()`), stored beside the day's report.
"""

from typing import TYPE_CHECKING, Any

from flowdigest.inventory.coverage import Coverage, coverage
from flowdigest.inventory.labels import GROUP_TAGS, Label
from flowdigest.inventory.models import KINDS, Snapshot
from flowdigest.inventory.names import NameIndex
from flowdigest.inventory.routes import NatInfo, Routes

if TYPE_CHECKING:
    from flowdigest.inventory.awsjson import COMMANDS, InventoryError, read_dir


def __getattr__(name: str) -> Any:
    """The file reader on first use: its errors are FlowLogErrors, and flowdigest.sources (pyarrow)
    is not in the render function's layers, which only reads stored snapshots."""
    if name in ("COMMANDS", "InventoryError", "read_dir"):
        from flowdigest.inventory import awsjson

        return getattr(awsjson, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "GROUP_TAGS", "KINDS", "Coverage", "InventoryError", "Label", "NameIndex", "NatInfo",
           "Routes", "Snapshot", "coverage", "read_dir"]
