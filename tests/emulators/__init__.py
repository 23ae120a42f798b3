"""Loopback emulators of vendor APIs, built from the vendors' documentation.

    from tests.emulators import start_emulator, EMULATORS
    emu = start_emulator("stripe", port=0, rows=250, seed=1, api_key="sk_test_emulator")
    emu.base_url, emu.credentials, emu.requests, emu.faults, emu.store
    emu.add("customers", 3); emu.touch("customers", some_id); emu.stop()

They never import `generator/` or `generated/`: they are the independent check that
the generator's decisions match what the vendor really does.
"""

from __future__ import annotations

from .base import Emulator, RecordedRequest
from .faults import FAULT_KINDS, Fault, FaultPlan
from .github import GitHubEmulator
from .klaviyo import KlaviyoEmulator
from .stripe import StripeEmulator
from .twilio import TwilioEmulator

EMULATORS: dict[str, type[Emulator]] = {
    "github": GitHubEmulator,
    "klaviyo": KlaviyoEmulator,
    "stripe": StripeEmulator,
    "twilio": TwilioEmulator,
}


def start_emulator(
    name: str,
    *,
    port: int = 0,
    rows: int = 250,
    seed: int = 1,
    api_key: str | None = None,
) -> Emulator:
    """Build the named emulator's data and start serving it on 127.0.0.1 in a
    background thread (port 0: any free port). Stop it with `.stop()` or use it as a
    context manager."""
    try:
        cls = EMULATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown emulator {name!r}; one of {', '.join(EMULATORS)}"
        ) from None
    return cls(port=port, rows=rows, seed=seed, api_key=api_key).start()


__all__ = [
    "EMULATORS",
    "FAULT_KINDS",
    "Emulator",
    "Fault",
    "FaultPlan",
    "RecordedRequest",
    "start_emulator",
]
