"""The configurations every application benchmark compares."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Config:
    label: str
    flavour: str  # appkit flavour name
    env: dict = field(default_factory=dict, hash=False, compare=False)


# Every SIM row prices an exit and re-entry at the measure of record, 8,000
# cycles (the paper's): a sync call's, an adaptive call's and an idle
# ethread's sleep alike.
EXIT = {"SCONE_SIM_EXIT_CYCLES": "8000"}
CONFIGS = (
    Config("SIM async", "scone", {"SCONE_SYSCALL": "async", **EXIT}),
    # The paper's SCONE-sync: every system call exits; SIM charges the exit's cost.
    Config("SIM sync (8000-cycle exit)", "scone", {"SCONE_SYSCALL": "sync", **EXIT}),
    # Queue or exit per call, from measured costs (DESIGN.md §5).
    Config("SIM adaptive", "scone", {"SCONE_SYSCALL": "adaptive", **EXIT}),
    Config("native glibc", "glibc"),
    Config("native musl", "musl"),
)
BASELINE = "native glibc"
