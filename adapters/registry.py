"""Adapter lookup by name: the name a partner endpoint's `adapter` field carries."""

from __future__ import annotations

from adapters.gi.adapter import ADAPTER as GI
from adapters.research.adapter import ADAPTER as RESEARCH
from adapters.rvdk.adapter import ADAPTER as RVDK
from adapters.veilig_thuis.adapter import ADAPTER as VEILIG_THUIS
from adapters.wijkteam.adapter import ADAPTER as WIJKTEAM
from gateway.relay.port import PartnerAdapter

_ADAPTERS: dict[str, PartnerAdapter] = {
    adapter.name: adapter for adapter in (VEILIG_THUIS, RVDK, GI, WIJKTEAM, RESEARCH)
}
ADAPTER_NAMES: tuple[str, ...] = tuple(_ADAPTERS)


def get_adapter(name: str) -> PartnerAdapter:
    """The adapter registered under `name`; KeyError for an unknown name."""
    try:
        return _ADAPTERS[name]
    except KeyError:
        raise KeyError(f"unknown adapter: {name}") from None
