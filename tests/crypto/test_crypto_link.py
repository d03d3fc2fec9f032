"""How a link asks for the crypto object, and how its source is chosen (no build)."""

import pytest

from scone_cc import openssl_source
from scone_cc.driver.link import link_argv
from scone_cc.driver.options import classify
from scone_cc.driver.settings import link_settings

INC = ["-nostdinc", "-isystem", "/S/include"]


@pytest.fixture
def roots(tmp_path):
    s, g = tmp_path / "S", tmp_path / "G"
    (s / "lib").mkdir(parents=True)
    g.mkdir()
    for f in ("crti.o", "crtn.o", "libc.a", "libscone-enclave.a", "enclave.ld"):
        (s / "lib" / f).touch()
    for f in ("crtbeginS.o", "crtendS.o", "libgcc.a", "libgcc_eh.a"):
        (g / f).touch()
    return str(s), str(g)


def _argv(roots, crypto=None):
    s, g = roots
    return link_argv(classify(["main.o", "-o", "app"]), gcc="gcc", sysroot=s, gcc_libdir=g,
                     cflags=INC, specs="/c/l.specs", output="app", enclave=True, crypto=crypto)


def test_crypto_first_in_the_group_with_gc_sections(roots):
    plain, with_crypto = _argv(roots), _argv(roots, crypto="/C/libscone-crypto.a")
    assert "-Wl,--gc-sections" not in plain and "/C/libscone-crypto.a" not in plain
    group = with_crypto.index("-Wl,--start-group")
    assert with_crypto[group + 1] == "/C/libscone-crypto.a"
    assert "-Wl,--gc-sections" in with_crypto[:with_crypto.index("main.o")]
    rest = [w for w in with_crypto if w not in ("-Wl,--gc-sections", "/C/libscone-crypto.a")]
    assert rest == plain


def test_the_option_and_the_variable():
    assert not link_settings([], {}).crypto
    assert link_settings([("--scone-crypto", "")], {}).crypto
    assert link_settings([], {"SCONE_CRYPTO": "1"}).crypto
    assert tuple(classify(["--scone-crypto", "a.o"]).scone) == (("--scone-crypto", ""),)


SHOWSRC = """Package: openssl
Version: 3.0.20-1~deb12u2
Checksums-Sha256:
 a614474a2773c23b10c0d65f4eccbcf93fdac4749afb7c26d76e1b0340154d3d 2539 openssl_3.0.20-1~deb12u2.dsc
 c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f 15292815 openssl_3.0.20.orig.tar.gz

Package: openssl
Version: 3.0.22-1~deb12u2
Checksums-Sha256:
 7c45299a4363febec120676393d4314841c7c50da244a6e6a256f072d632d337 2742 openssl_3.0.22-1~deb12u2.dsc

Package: openssl
Version: 3.1.0-1
Checksums-Sha256:
 00 1 openssl_3.1.0-1.dsc

Package: libssl-other
Version: 3.0.99-1
Checksums-Sha256:
 00 1 x.dsc
"""


def test_showsrc_parsing():
    got = openssl_source.parse_showsrc(SHOWSRC)
    assert [c.version for c in got] == ["3.0.20-1~deb12u2", "3.0.22-1~deb12u2", "3.1.0-1"]
    assert got[0].dsc == "openssl_3.0.20-1~deb12u2.dsc"
    assert got[0].files["openssl_3.0.20.orig.tar.gz"] == (
        "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f", 15292815)


def test_newest_30_first(monkeypatch):
    class Done:
        stdout = SHOWSRC

    monkeypatch.setattr(openssl_source.shutil, "which", lambda name: "/usr/bin/" + name)
    real_run = openssl_source.subprocess.run
    monkeypatch.setattr(openssl_source.subprocess, "run",
                        lambda argv, **kw: Done() if argv[0] == "apt-cache" else real_run(argv, **kw))
    assert [c.version for c in openssl_source.candidates()] == [
        "3.0.22-1~deb12u2", "3.0.20-1~deb12u2"]


def test_a_file_that_does_not_match_is_refused(tmp_path):
    dsc = ("Format: 3.0 (quilt)\nChecksums-Sha256:\n"
           " 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 5 a.tar.gz\n")
    (tmp_path / "a.dsc").write_text(dsc)
    (tmp_path / "a.tar.gz").write_text("hello")
    cand = openssl_source.Candidate("1", {
        "a.dsc": (openssl_source.sha256_file(tmp_path / "a.dsc"), len(dsc)),
        "a.tar.gz": ("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", 5)})
    openssl_source.verify(tmp_path, cand)
    (tmp_path / "a.tar.gz").write_text("jello")
    with pytest.raises(Exception, match="does not match"):
        openssl_source.verify(tmp_path, cand)


def test_keys(tmp_path):
    """OpenSSL's build is keyed by source, configuration, musl and gcc; the
    crypto object by that and our code, not by our documentation."""
    from scone_cc import crypto_build

    k = crypto_build.openssl_key("d" * 64, "s" * 64, "12.2.0")
    assert k == crypto_build.openssl_key("d" * 64, "s" * 64, "12.2.0")
    assert k != crypto_build.openssl_key("e" * 64, "s" * 64, "12.2.0")
    assert k != crypto_build.openssl_key("d" * 64, "t" * 64, "12.2.0")
    glue = tmp_path / crypto_build.GLUE_DIR
    glue.mkdir(parents=True)
    (tmp_path / crypto_build.API_HEADER).parent.mkdir(parents=True)
    (tmp_path / crypto_build.API_HEADER).write_text("api")
    (glue / "a.c").write_text("one")
    first = crypto_build.crypto_key(k, tmp_path)
    (glue / "README.md").write_text("words")
    assert crypto_build.crypto_key(k, tmp_path) == first
    (glue / "a.c").write_text("two")
    assert crypto_build.crypto_key(k, tmp_path) != first
