"""How an enclave's size compares with the EPC of common SGX parts.

Every page the loader adds (EADD) is committed enclave memory: on SGX1 it
stays in the Enclave Page Cache (EPC) for the enclave's life, and an
enclave whose committed pages, with every other enclave's, exceed the
usable EPC is paged by the kernel (EWB/ELDU: each evicted page is
encrypted out and back in, at thousands of cycles a page). SECS.SIZE (a
power of two) is address space only: it costs no EPC.

Figures, usable EPC per socket (what the kernel can hand to enclaves; the
processor reserves the rest of the PRM for the EPCM and version arrays):

* SGX1 client and Xeon E3 parts (Skylake to Coffee Lake): the PRM is at
  most 128 MiB, of which about 93.5 MiB is EPC usable by enclaves.
  Sources: Costan & Devadas, "Intel SGX Explained" (IACR ePrint 2016/086),
  section 5.1; Intel's SGX SDK developer reference and the Linux kernel's
  SGX documentation (Documentation/arch/x86/sgx.rst) describe the same
  BIOS-reserved PRM.
* Xeon E-2300 (Rocket Lake, SGX2 with flexible launch control): maximum
  EPC size 512 MB per Intel ARK (e.g. Xeon E-2388G).
* 3rd gen Xeon Scalable (Ice Lake-SP, SGX2): maximum EPC size 512 GB per
  socket per Intel ARK (e.g. Xeon Platinum 8380), 1 TB on two sockets per
  Intel's 2021 product brief; platforms are commonly configured with 64 GiB
  or 512 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class EpcPart:
    name: str
    sgx: int          # 1 or 2
    usable: int       # bytes of EPC an enclave can use before paging


PARTS = (
    EpcPart("SGX1 client / Xeon E3 (128 MiB PRM)", 1, int(93.5 * MIB)),
    EpcPart("Xeon E-2300 (SGX2, 512 MiB EPC)", 2, 512 * MIB),
    EpcPart("Xeon Scalable 3rd gen, 64 GiB EPC (SGX2)", 2, 64 * GIB),
    EpcPart("Xeon Scalable 3rd gen, 512 GiB EPC (SGX2)", 2, 512 * GIB),
)


def committed_bytes(layout) -> int:
    """Bytes of EPC the enclave commits: every added page (guard pages are never added)."""
    return sum(r.count for r in layout.runs) * 4096


def human(n: int) -> str:
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def facts(layout) -> dict:
    """``{"size", "committed", "parts": [{name, usable, fits}]}`` for ``layout``."""
    committed = committed_bytes(layout)
    return {
        "size": layout.size,
        "committed": committed,
        "committed_pages": committed // 4096,
        "parts": [{"name": p.name, "sgx": p.sgx, "usable_epc": p.usable,
                   "fits": committed <= p.usable} for p in PARTS],
    }


def lines(f: dict) -> list[str]:
    """The human report of ``facts``: one line, plus a warning per part where paging begins."""
    out = [f"enclave SIZE {human(f['size'])} (address space), committed {human(f['committed'])} "
           f"({f['committed_pages']} pages added at load)"]
    for p in f["parts"]:
        if not p["fits"]:
            out.append(f"warning: more than the {human(p['usable_epc'])} usable EPC of {p['name']}: "
                       "EPC paging would begin there (every evicted page is encrypted out and back)")
    fits = [p["name"] for p in f["parts"] if p["fits"]]
    if fits and len(fits) < len(f["parts"]):
        out.append(f"fits without paging on: {'; '.join(fits)}")
    elif fits:
        out.append("fits without paging in the EPC of every part listed (SGX1 client parts: 93.5 MiB)")
    return out
