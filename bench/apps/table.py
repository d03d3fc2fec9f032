"""Print one benchmark's results: throughput, p99 latency, ratio to the baseline."""

from __future__ import annotations

from .configs import BASELINE


def render(title: str, rows: dict[str, dict], unit: str = "req/s") -> str:
    """``rows``: label -> {"tput": float|None, "p99_ms": float|None, "note": str}.

    Pure: returns the text; the caller prints it.
    """
    base = rows.get(BASELINE, {}).get("tput")
    lines = [title, f"  {'configuration':<30} {unit:>12} {'p99 ms':>9} {'x glibc':>8}  note"]
    for label, r in rows.items():
        tput, p99 = r.get("tput"), r.get("p99_ms")
        ratio = f"{tput / base:.2f}" if tput and base else "-"
        lines.append(f"  {label:<30} {f'{tput:,.0f}' if tput else '-':>12} "
                     f"{f'{p99:.3f}' if p99 is not None else '-':>9} {ratio:>8}  {r.get('note', '')}")
    return "\n".join(lines)


def best(runs: list[dict]) -> dict:
    """Best-of-N: the run with the highest throughput (its own p99 kept with it)."""
    ok = [r for r in runs if r.get("tput")]
    if not ok:
        return runs[-1] if runs else {"note": "not run"}
    return max(ok, key=lambda r: r["tput"])
