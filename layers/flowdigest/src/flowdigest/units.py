"""Numbers as people read them: every figure carries its unit."""

from __future__ import annotations

import ipaddress
import math

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMPv6", 132: "SCTP"}


def byte_unit(n: float) -> tuple[float, str]:
    """The divisor and binary unit that show `n` bytes with 1-3 integer digits."""
    exp = 0 if n < 1024 else min(int(math.log(n, 1024)), len(_BYTE_UNITS) - 1)
    return 1024.0**exp, _BYTE_UNITS[exp]


def human_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    div, unit = byte_unit(abs(n))
    if unit == "B":
        return f"{int(n)} B"
    return f"{n / div:.1f} {unit}"


def human_count(n: float | None) -> str:
    if n is None:
        return "–"
    for div, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{suffix}"
    return f"{int(n)}"


def usd(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.4f}"


def pct_change(now: float, before: float | None) -> float | None:
    if before is None or before == 0:
        return None
    return (now - before) / before * 100.0


def signed_pct(p: float | None) -> str:
    return "n/a" if p is None else f"{p:+.0f} %"


def protocol_name(proto: int | None) -> str:
    if proto is None:
        return "?"
    return PROTOCOLS.get(int(proto), str(proto))


def port_label(port: int | None, proto: int | None) -> str:
    name = protocol_name(proto)
    if proto in (1, 58) or port is None:
        return name
    return f"{port}/{name}"


def is_internal(address: str | None) -> bool:
    """Private (RFC 1918 / ULA) or otherwise non-public addresses."""
    if not address:
        return False
    try:
        return not ipaddress.ip_address(address).is_global
    except ValueError:
        return False
