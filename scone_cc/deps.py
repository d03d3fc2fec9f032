"""Versions of the dependencies that scone needs, where an older one fails
in a way its own error would not explain.

pyproject.toml states the same bounds; tests/packaging checks that they
agree and (slow) that the lower bounds work.
"""

from scone_cc.errors import SconeError

# lief before 0.17.6 writes the section header table of the final binary at
# an offset that is not 8-aligned (0.17.0-0.17.5: the starter then refuses
# it as malformed), and 0.15/0.16 cannot parse the static starter at all.
LIEF_MIN = (0, 17, 6)


def _parse(version: str) -> tuple:
    """(major, minor, patch) from ``1.0.0-d05b3499b`` or ``0.17.6``."""
    import re

    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return tuple(int(g) for g in m.groups() if g is not None) if m else ()


def check_lief_version(version: str) -> None:
    """Raise SconeError unless ``version`` (lief.__version__) is at least LIEF_MIN."""
    got = _parse(version)
    if len(got) < 2 or got < LIEF_MIN:
        need = ".".join(map(str, LIEF_MIN))
        raise SconeError(
            f"lief {version} is installed, scone needs lief >= {need} (older versions "
            f"write enclave binaries the starter cannot read); pip install -U 'lief>={need}'")


def require_lief():
    """Import lief, checking its version first; the module."""
    try:
        import lief
    except ImportError as err:
        raise SconeError(f"lief cannot be imported ({err}); pip install 'lief>="
                         f"{'.'.join(map(str, LIEF_MIN))}'") from None
    check_lief_version(getattr(lief, "__version__", "0"))
    return lief
