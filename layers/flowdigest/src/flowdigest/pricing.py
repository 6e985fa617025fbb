"""List prices the report's dollar figures assume (us-east-1 by default, configurable)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

GIB = 1024**3  # AWS bills data transfer and processing per GB of 2^30 bytes


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nat_per_gb: float = 0.045  # NAT gateway data processed
    cross_az_per_gb: float = 0.01  # each way
    internet_egress_per_gb: float = 0.09
    athena_per_tb: float = 5.0

    def nat_cost(self, nbytes: float) -> float:
        return nbytes / GIB * self.nat_per_gb
