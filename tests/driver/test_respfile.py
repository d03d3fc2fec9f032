"""Response files: libiberty's quoting rules, recursion and errors."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from scone_cc.driver.respfile import expand, split
from scone_cc.errors import SconeError


@pytest.mark.parametrize("text, args", [
    ("", []),
    ("  \n\t ", []),
    ("-c a.c", ["-c", "a.c"]),
    ("-DX='a b'  -DY=\"c d\"\n", ["-DX=a b", "-DY=c d"]),
    ("a\\ b", ["a b"]),
    ("'it\\'s'", ["it's"]),          # backslash escapes inside quotes too
    ("\"q\\\"r\"", ['q"r']),
    ("x\\\\y", ["x\\y"]),
    ("''", [""]),                     # an empty quoted word is an argument
    ("a''b", ["ab"]),
    ("one\ntwo\r\nthree\vfour\ffive", ["one", "two", "three", "four", "five"]),
    ("'a\nb'", ["a\nb"]),
])
def test_split(text, args):
    assert split(text) == args


def test_expand_recursive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inner.rsp").write_text("-lm '-Wl,--as-needed'\n")
    (tmp_path / "outer.rsp").write_text("-O2 @inner.rsp \"x y.o\"\n")
    assert expand(["-c", "@outer.rsp", "-o", "out"]) == ["-c", "-O2", "-lm", "-Wl,--as-needed", "x y.o", "-o", "out"]


def test_missing_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SconeError, match=r"^@nope\.rsp: cannot read response file 'nope\.rsp' "):
        expand(["@nope.rsp"])


def test_self_inclusion_stops(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.rsp").write_text("-O2 @loop.rsp")
    with pytest.raises(SconeError, match="includes itself"):
        expand(["@loop.rsp"])


def test_lone_at_is_a_word():
    assert expand(["@", "a.c"]) == ["@", "a.c"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_agrees_with_gcc(tmp_path):
    """gcc itself is the independent reading: -### shows the -D words it got."""
    text = ("-DA='x y' -DB=\"q\\\"r\" -DC=back\\\\slash -DD=a\\ b\n"
            "-DE='' -DF=\"it's\" -DG='say \"hi\"'\n")
    rsp = tmp_path / "args.rsp"
    rsp.write_text(text)
    out = subprocess.run(["gcc", "-###", "-E", f"@{rsp}", "-x", "c", os.devnull],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cc1 = next(ln for ln in out.stderr.splitlines() if "cc1" in ln and ln.startswith(" "))
    words = shlex.split(cc1)
    from_gcc = [words[i + 1] for i, w in enumerate(words) if w == "-D"]
    ours = [w[2:] for w in split(text)]
    assert from_gcc == ours
    assert re.fullmatch(r"B=q\"r", ours[1])
