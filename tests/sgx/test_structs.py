"""SGX structures against the offsets of docs/sgx-spec.md §2-§6, written out by hand."""

import struct

import pytest

from scone_cc.errors import SconeError
from scone_cc.sgx.structs import Secinfo, Secs, Sigstruct, StructError, Tcs, tcs_as_measured


@pytest.mark.parametrize("cls", [Secinfo, Secs, Tcs, Sigstruct])
def test_field_table_covers_every_byte_once(cls):
    spans = sorted((f.offset, f.offset + f.size) for f in cls.FIELDS)
    assert spans[0][0] == 0 and spans[-1][1] == cls.SIZE
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_sizes_from_the_spec():
    assert (Secinfo.SIZE, Secs.SIZE, Tcs.SIZE, Sigstruct.SIZE) == (64, 4096, 4096, 1808)


def test_secs_offsets():
    raw = Secs(size=0x2000000, baseaddr=0x7F0000000000, ssaframesize=4, miscselect=1,
               attributes=0x6, xfrm=0x7, mrenclave=b"\x11" * 32, mrsigner=b"\x22" * 32,
               isvprodid=0x1234, isvsvn=0x5678).pack()
    assert struct.unpack_from("<Q", raw, 0)[0] == 0x2000000
    assert struct.unpack_from("<Q", raw, 8)[0] == 0x7F0000000000
    assert struct.unpack_from("<I", raw, 16)[0] == 4
    assert struct.unpack_from("<I", raw, 20)[0] == 1
    assert struct.unpack_from("<QQ", raw, 48) == (0x6, 0x7)
    assert raw[64:96] == b"\x11" * 32 and raw[128:160] == b"\x22" * 32
    assert struct.unpack_from("<HH", raw, 256) == (0x1234, 0x5678)
    assert not any(raw[262:])
    assert Secs.unpack(raw).ssaframesize == 4


def test_tcs_offsets_and_measured_view():
    tcs = Tcs(state=9, flags=3, ossa=0x3000, cssa=5, nssa=2, oentry=0x1234, aep=0xDEAD,
              ofsbase=0x5000, ogsbase=0x6000, fslimit=0xFFF, gslimit=0xFFF)
    raw = tcs.pack()
    assert struct.unpack_from("<QQQIIQQQQII", raw, 0) == (
        9, 3, 0x3000, 5, 2, 0x1234, 0xDEAD, 0x5000, 0x6000, 0xFFF, 0xFFF)
    m = tcs_as_measured(raw)
    # STATE, CSSA, AEP and DBGOPTIN zeroed; AEXNOTIFY (flags bit 1) and the rest kept (§1.2).
    assert struct.unpack_from("<QQQIIQQ", m, 0) == (0, 2, 0x3000, 0, 2, 0x1234, 0)
    assert m[48:] == raw[48:]
    with pytest.raises(SconeError):
        tcs_as_measured(raw[:100])


def test_secinfo_flags_and_eadd_rules():
    assert Secinfo(0x207).pack() == bytes([7, 2]) + bytes(62)
    assert Secinfo(0x100).eadd_problems() == []
    assert Secinfo(0x203).eadd_problems() == []
    assert Secinfo(0x107).eadd_problems()          # TCS with permissions
    assert Secinfo(0x202).eadd_problems()          # W without R
    assert Secinfo(0x301).eadd_problems()          # PT_VA
    assert Secinfo(0x20B).eadd_problems()          # PENDING


def test_sigstruct_constant_headers_and_offsets():
    raw = Sigstruct(vendor=0x8086, date=0x20160109, swdefined=7, modulus=(1 << 3071) + 5,
                    exponent=3, signature=0xABCDEF, miscselect=1, miscmask=0xFFFFFFFF,
                    attributes=0x6, xfrm=3, attributemask=0xFF, xfrmmask=0xFB,
                    enclavehash=bytes(range(32)), isvprodid=0x102, isvsvn=0x304,
                    q1=0x55, q2=0x66).pack()
    assert raw[0:16] == bytes.fromhex("06000000E10000000000010000000000")
    assert raw[24:40] == bytes.fromhex("01010000600000006000000001000000")
    assert raw[16:20] == bytes.fromhex("86800000")
    assert raw[20:24] == bytes.fromhex("09011620")
    assert raw[40:44] == bytes([7, 0, 0, 0])
    assert raw[128] == 5 and raw[511] == 0x80          # modulus little-endian
    assert raw[512:516] == bytes([3, 0, 0, 0])
    assert raw[516:519] == bytes([0xEF, 0xCD, 0xAB]) and not any(raw[519:900])
    assert struct.unpack_from("<IIQQQQ", raw, 900)[:2] == (1, 0xFFFFFFFF)
    assert struct.unpack_from("<QQQQ", raw, 928) == (6, 3, 0xFF, 0xFB)
    assert raw[960:992] == bytes(range(32))
    assert struct.unpack_from("<HH", raw, 1024) == (0x102, 0x304)
    assert raw[1040] == 0x55 and raw[1424] == 0x66


def test_unpack_rejects_wrong_length_header_and_reserved():
    good = Sigstruct(exponent=3).pack()
    assert Sigstruct.unpack(good).exponent == 3
    with pytest.raises(StructError, match="1807 bytes"):
        Sigstruct.unpack(good[:-1])
    bad = bytearray(good)
    bad[3] ^= 1
    with pytest.raises(StructError, match="header at offset 0"):
        Sigstruct.unpack(bytes(bad))
    bad = bytearray(good)
    bad[1030] = 1
    with pytest.raises(StructError, match="reserved byte at offset 1030"):
        Sigstruct.unpack(bytes(bad))
    tcs = bytearray(Tcs().pack())
    tcs[4000] = 1
    with pytest.raises(StructError, match="offset 4000"):
        Tcs.unpack(bytes(tcs))
    secs = bytearray(Secs().pack())
    secs[40] = 1
    with pytest.raises(StructError, match="offset 40"):
        Secs.unpack(bytes(secs))
    with pytest.raises(StructError):
        Secinfo.unpack(bytes(63))


def test_secs_ecreate_rules():
    assert Secs(size=0x2000, baseaddr=0x4000).ecreate_problems() == []
    assert Secs(size=0x3000).ecreate_problems()
    assert Secs(size=0x4000, baseaddr=0x2000).ecreate_problems()
    assert Secs(size=0x2000, attributes=0x5).ecreate_problems()      # INIT
    assert Secs(size=0x2000, xfrm=1).ecreate_problems()
