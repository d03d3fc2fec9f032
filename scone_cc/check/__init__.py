"""scone-check: refuse unsupported calls at build time, naming the source line (DESIGN.md §7).

``check_paths(paths, allow=())`` returns the findings of objects, archives,
executables and scone binaries; ``require_clean(findings)`` raises SconeError
listing the errors and how to allow them (the link step calls it).
"""

from ..errors import SconeError
from .finding import ERROR, NOTE, WARNING, Finding

__all__ = ["check_paths", "check_path", "check_blob", "require_clean", "Finding", "ERROR", "NOTE", "WARNING"]


def check_blob(blob, allow=frozenset()) -> list:
    """Findings of one ELF held in memory (an object, or a linked image)."""
    from .elf import ET_REL, Elf

    try:
        elf = Elf(blob.name, blob.data)
        if elf.type == ET_REL:
            from .objects import check_object

            return check_object(elf, allow)
        from .image import check_image

        return check_image(elf, allow)
    except SconeError:
        raise
    except Exception as err:      # noqa: BLE001 - a damaged ELF must give one line, never a traceback
        raise SconeError(f"{blob.name}: malformed ELF ({type(err).__name__}: {err}); "
                         "the file is damaged or not made by a standard toolchain: rebuild it") from None

def check_path(path, allow=frozenset(), notes=None) -> list:
    """Findings of one file; notes about skipped archive members are appended to ``notes``."""
    from .inputs import load

    notes = [] if notes is None else notes
    out = []
    for blob in load(str(path), notes):
        out.extend(check_blob(blob, allow))
    return out


def check_paths(paths, allow=()) -> list:
    """Findings of every file in ``paths`` (DESIGN.md §7); SconeError on bad input.

    ``allow``: names (functions or system calls) whose findings become warnings.
    """
    allow = frozenset(allow)
    out = []
    for p in paths:
        out.extend(check_path(p, allow))
    return out


def require_clean(findings, what: str = "the link") -> list:
    """Raise SconeError (exit 1) if any finding is an error, saying how to allow each.

    Returns the warnings (allowed findings) for the caller to print, one
    ``Finding.format()`` line each.
    """
    errors = [f for f in findings if f.severity == ERROR]
    if not errors:
        return [f for f in findings if f.severity == WARNING]
    names = sorted({f.callee if f.callee and f.kind in ("call", "reference", "pointer") else f.syscall
                    for f in errors})
    lines = "\n".join(f.format() for f in errors)
    allow = ",".join(names)
    then = "the calls then fail with ENOSYS at run time"
    if any(f.kind == "instruction" for f in errors):
        then += "; a system-call instruction still ends the process if it runs"
    raise SconeError(
        f"{what} needs system calls that enclaves do not support:\n{lines}\n"
        f"to build anyway ({then}), pass --scone-allow={allow} "
        f"or set SCONE_ALLOW={allow}",
        exit_code=1,
    )
