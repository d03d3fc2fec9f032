"""The four configurations every application benchmark compares."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Config:
    label: str
    flavour: str  # appkit flavour name
    env: dict = field(default_factory=dict, hash=False, compare=False)


CONFIGS = (
    Config("SIM async", "scone", {"SCONE_SYSCALL": "async"}),
    # The paper's SCONE-sync: every system call exits; SIM charges the exit's cost.
    Config("SIM sync (8000-cycle exit)", "scone", {"SCONE_SYSCALL": "sync", "SCONE_SIM_EXIT_CYCLES": "8000"}),
    Config("native glibc", "glibc"),
    Config("native musl", "musl"),
)
BASELINE = "native glibc"
