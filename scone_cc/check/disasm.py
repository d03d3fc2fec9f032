"""Capstone helpers: disassemble one function, find what a register holds.

Only the few functions that matter are disassembled (capstone in Python is
slow per instruction); callers pre-scan bytes to choose them.
"""

import functools

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone.x86 import X86_OP_IMM, X86_OP_MEM, X86_OP_REG, X86_REG_RIP

# Register families by capstone name: writing any member clobbers the value.
_FAMILY = {
    "rax": ("rax", "eax", "ax", "al", "ah"),
    "rdi": ("rdi", "edi", "di", "dil"),
    "rdx": ("rdx", "edx", "dx", "dl", "dh"),
    "rsi": ("rsi", "esi", "si", "sil"),
}
_BLOCK_END = ("jmp", "ret", "retq", "ud2", "hlt")


@functools.lru_cache(maxsize=1)
def _cs():
    cs = Cs(CS_ARCH_X86, CS_MODE_64)
    cs.detail = True
    return cs


class Func:
    """The instructions of one byte range, with a basic-block view for look-backs."""

    def __init__(self, code: bytes, addr: int):
        self.insns = list(_cs().disasm(code, addr))
        self.index = {i.address: n for n, i in enumerate(self.insns)}
        self.targets = set()
        for i in self.insns:
            if i.group(1) or i.group(7):          # CS_GRP_JUMP, CS_GRP_BRANCH_RELATIVE
                op = i.operands[0] if i.operands else None
                if op is not None and op.type == X86_OP_IMM:
                    self.targets.add(op.imm)

    def at(self, addr: int):
        n = self.index.get(addr)
        return None if n is None else self.insns[n]

    def covering(self, addr: int):
        """The instruction whose bytes include ``addr``."""
        for i in self.insns:
            if i.address <= addr < i.address + i.size:
                return i
        return None

    def value_before(self, addr: int, reg: str):
        """The constant in ``reg`` (rax/rdi/rsi/rdx) just before the instruction at ``addr``.

        Looks back within the basic block: stops at a jump target, a call or
        an unconditional branch; any other write to the register makes the
        value unknown (None).
        """
        n = self.index.get(addr)
        if n is None:
            return None
        fam = _FAMILY[reg]
        while n > 0:
            if self.insns[n].address in self.targets:
                return None
            n -= 1
            i = self.insns[n]
            if i.mnemonic.startswith("call") or i.mnemonic in _BLOCK_END or i.mnemonic == "syscall":
                return None
            _read, written = i.regs_access()
            names = {i.reg_name(r) for r in written}
            if not names & set(fam):
                continue
            ops = i.operands
            if i.mnemonic == "mov" and len(ops) == 2 and ops[0].type == X86_OP_REG and ops[1].type == X86_OP_IMM:
                return ops[1].imm & 0xFFFFFFFFFFFFFFFF
            if i.mnemonic == "xor" and len(ops) == 2 and ops[0].type == ops[1].type == X86_OP_REG \
                    and ops[0].reg == ops[1].reg:
                return 0
            return None
        return None


def references(insn):
    """Addresses an instruction refers to: a branch target or a RIP-relative operand."""
    out = []
    for op in insn.operands:
        if op.type == X86_OP_IMM and (insn.group(1) or insn.group(2) or insn.group(7)):
            out.append(op.imm)
        elif op.type == X86_OP_IMM and insn.mnemonic in ("mov", "movabs", "push"):
            out.append(op.imm)
        elif op.type == X86_OP_MEM and op.mem.base == X86_REG_RIP:
            out.append(insn.address + insn.size + op.mem.disp)
    return out
