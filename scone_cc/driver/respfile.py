"""Response files (``@file``), expanded exactly as gcc does.

gcc reads them with libiberty's ``expandargv``/``buildargv``: arguments are
separated by whitespace; single and double quotes group (and are removed);
a backslash takes the next character literally, inside quotes too; a file
holding only whitespace gives no arguments; the arguments read are
themselves expanded again. Unlike gcc, which would pass an unreadable
``@name`` on as a file name, a missing file is an error here: the user
almost always meant a response file.
"""

import os

from scone_cc.errors import SconeError

# libiberty's ISSPACE: the C locale's isspace().
_SPACE = " \t\n\v\f\r"

# expandargv gives up after this many expansions (it guards against a file
# that includes itself); we do the same, with an error instead of a loop.
MAX_EXPANSIONS = 2000


def split(text: str) -> list[str]:
    """Split response-file text into arguments (libiberty ``buildargv``)."""
    if not text.strip(_SPACE):
        return []
    args = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            break
        arg = []
        squote = dquote = bsquote = False
        while i < n:
            c = text[i]
            if c in _SPACE and not (squote or dquote or bsquote):
                break
            if bsquote:
                bsquote = False
                arg.append(c)
            elif c == "\\":
                bsquote = True
            elif squote:
                if c == "'":
                    squote = False
                else:
                    arg.append(c)
            elif dquote:
                if c == '"':
                    dquote = False
                else:
                    arg.append(c)
            elif c == "'":
                squote = True
            elif c == '"':
                dquote = True
            else:
                arg.append(c)
            i += 1
        args.append("".join(arg))
    return args


def expand(argv: list[str]) -> list[str]:
    """Replace every ``@file`` in ``argv`` by the arguments it holds, recursively.

    Names are relative to the current directory, as in gcc. Raises
    SconeError for a missing or unreadable file or a self-including chain.
    """
    out = list(argv)
    i = expansions = 0
    while i < len(out):
        word = out[i]
        if not word.startswith("@") or len(word) == 1:
            i += 1
            continue
        expansions += 1
        if expansions > MAX_EXPANSIONS:
            raise SconeError(
                f"{word}: more than {MAX_EXPANSIONS} response-file expansions; "
                "a response file probably includes itself, remove that @ line")
        name = word[1:]
        if os.path.isdir(name):
            i += 1
            continue
        try:
            with open(name, "rb") as f:
                text = f.read().decode("utf-8", "surrogateescape")
        except OSError as err:
            reason = err.strerror or str(err)
            raise SconeError(
                f"{word}: cannot read response file {name!r} ({reason}); "
                "check the path, or write ./@name for a file whose name starts with @"
            ) from None
        out[i:i + 1] = split(text)
    return out
