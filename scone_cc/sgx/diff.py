"""Why two enclaves measure differently: the first parameter and record apart.

MRENCLAVE is the SHA-256 of the update records (docs/sgx-spec.md §1), so the
first record where the two streams part is the first cause of the
difference; everything after it may only be its consequence. Pure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from itertools import zip_longest

from scone_cc.sgx import measure
from scone_cc.sgx.pages import EnclaveParams, Layout, PageRun


@dataclass(frozen=True)
class Difference:
    """The outcome of ``compare``. ``first`` is None when the measurements agree."""

    mrenclave_a: bytes
    mrenclave_b: bytes
    params: tuple[tuple[str, object, object], ...]
    first: dict | None

    @property
    def equal(self) -> bool:
        return self.mrenclave_a == self.mrenclave_b

    def as_dict(self) -> dict:
        return {
            "equal": self.equal,
            "mrenclave_a": self.mrenclave_a.hex(),
            "mrenclave_b": self.mrenclave_b.hex(),
            "parameters": [{"name": n, "a": a, "b": b} for n, a, b in self.params],
            "first_difference": self.first,
        }


def _where(run: PageRun | None, offset: int) -> str:
    if run is None:
        return "SECS"
    page = (offset - run.offset) // 4096
    return f"{run.what or 'run@' + hex(run.offset)} page {page}"


def _explain(kind: str, offset: int, ra: bytes, rb: bytes) -> str:
    if kind == "ECREATE":
        fields = []
        if ra[8:12] != rb[8:12]:
            fields.append(f"SSAFRAMESIZE {int.from_bytes(ra[8:12], 'little')} vs "
                          f"{int.from_bytes(rb[8:12], 'little')}")
        if ra[12:20] != rb[12:20]:
            fields.append(f"SIZE {int.from_bytes(ra[12:20], 'little'):#x} vs "
                          f"{int.from_bytes(rb[12:20], 'little'):#x}")
        return "ECREATE differs: " + ", ".join(fields)
    if kind == "EADD":
        return (f"EADD at {offset:#x}: SECINFO flags {int.from_bytes(ra[16:24], 'little'):#x} "
                f"vs {int.from_bytes(rb[16:24], 'little'):#x}")
    at = next(i for i, (x, y) in enumerate(zip(ra[64:], rb[64:])) if x != y)
    return f"EEXTEND at {offset:#x}: content differs at enclave offset {offset + at:#x}"


def compare(params_a: EnclaveParams, layout_a: Layout,
            params_b: EnclaveParams, layout_b: Layout) -> Difference:
    """Compare two enclaves: parameters first, then their record streams (§1)."""
    params = tuple((f.name, getattr(params_a, f.name), getattr(params_b, f.name))
                   for f in dataclasses.fields(EnclaveParams)
                   if getattr(params_a, f.name) != getattr(params_b, f.name))
    ma, mb = measure.mrenclave(layout_a), measure.mrenclave(layout_b)
    first = None
    if ma != mb:
        pairs = zip_longest(measure.labelled_records(layout_a), measure.labelled_records(layout_b))
        for index, (a, b) in enumerate(pairs):
            if a is not None and b is not None and a[3] == b[3]:
                continue
            first = {"record": index}
            if a is None or b is None:
                have, name = (a, "A") if a is not None else (b, "B")
                first["a"] = None if a is None else f"{a[0]} {_where(a[2], a[1])} at {a[1]:#x}"
                first["b"] = None if b is None else f"{b[0]} {_where(b[2], b[1])} at {b[1]:#x}"
                first["why"] = (f"only {name} has more records: {have[0]} of "
                                f"{_where(have[2], have[1])} at {have[1]:#x}")
            else:
                first["a"] = f"{a[0]} {_where(a[2], a[1])} at {a[1]:#x}"
                first["b"] = f"{b[0]} {_where(b[2], b[1])} at {b[1]:#x}"
                if a[0] == b[0] and a[1] == b[1]:
                    first["why"] = _explain(a[0], a[1], a[3], b[3])
                else:
                    first["why"] = f"A has {first['a']} where B has {first['b']}"
            break
    return Difference(ma, mb, params, first)
