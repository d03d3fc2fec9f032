"""One result of the static check, printed in gcc's diagnostic format (DESIGN.md §7)."""

from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"
NOTE = "note"                     # correct, but worth knowing (an emulated instruction)


@dataclass
class Finding:
    """A call path that needs a system call enclaves do not serve.

    ``where`` is ``object(section+0xoffset)``; ``src``/``line``/``col`` come
    from DWARF when the object has it. ``callee`` is the function (or address)
    the site refers to; None for a raw ``syscall`` instruction. ``chain`` lists
    the functions from the callee down to the one that issues the call.
    """

    obj: str
    section: str
    offset: int
    function: str
    callee: str | None
    syscall: str
    nr: int
    message: str
    fix: str
    kind: str = "call"            # call | reference | pointer | syscall | syscall-function | clone | instruction
    severity: str = ERROR
    src: str | None = None
    line: int = 0
    col: int = 0
    chain: list = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.obj}({self.section}+{self.offset:#x})"

    @property
    def location(self) -> str:
        if self.src and self.line:
            return f"{self.src}:{self.line}:{self.col}" if self.col else f"{self.src}:{self.line}"
        return self.where

    def format(self) -> str:
        """The gcc-style line: ``file:line:col: error: ...; fix [in 'fn', obj(sec+0xoff)]``."""
        tail = f"in '{self.function}'" if self.function else "outside any function"
        if self.src and self.line:
            tail += f", {self.where}"
        return f"{self.location}: {self.severity}: {self.message}; {self.fix} [{tail}]"

    def to_json(self) -> dict:
        d = asdict(self)
        d["location"] = self.location
        d["where"] = self.where
        return d
