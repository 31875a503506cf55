"""Partner adapters (implementing `gateway.relay.port.PartnerAdapter`) and the partner-system simulators.

`adapters.registry.get_adapter(name)` returns the adapter for a partner system type; each partner package
also has a `simulator.create_app()` used by tests and local runs (`python -m adapters.simulators <name>`).
"""

from adapters.registry import ADAPTER_NAMES, get_adapter

__all__ = ["ADAPTER_NAMES", "get_adapter"]
