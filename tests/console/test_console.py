"""The console shield (runtime/shield/console, FORMAT.md there): a program's
standard streams through scone-console equal the unshielded run's, the host
sees no plaintext, and a tampered, dropped, reordered, replayed or truncated
frame ends the stream with one line. Expected outputs come from the same
program built without the shield (the independent baseline) or from the
program's own definition, never from the shield's code."""

import json
import struct

import pytest

from .conftest import run

HDR = struct.Struct(">5sBBBQI")     # FORMAT.md: the 20-byte header
TAG = 16


def frames(stream: bytes) -> list[bytes]:
    """Split a captured stream into frames, as FORMAT.md lays them out."""
    out, at = [], 0
    while at < len(stream):
        magic, kind, sid, zero, seq, n = HDR.unpack_from(stream, at)
        assert magic == b"\x89SCN\x01"
        out.append(stream[at:at + HDR.size + n + TAG])
        at += HDR.size + n + TAG
    return out


def both(con_build, source):
    return con_build(source), con_build(source, "--scone-console")


def mrenclave(binary, env) -> str:
    r = run(["scone-sign", "show", "--json", binary], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["mrenclave"]


def test_hello_equals_the_unshielded_run(con_build, con_env):
    plain, shielded = both(con_build, "samples/hello.c")
    a = run([plain, "you", "7"], con_env)
    b = run(["scone-console", "run", "--", shielded, "you", "7"], con_env)
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr) == (7, a.stdout, b"")
    assert b"Hello, you, from inside the enclave!" in b.stdout
    # the runtime's own log lines, before the hello and after the end frame,
    # are shown as the host's, and the program's streams stay intact
    c = run(["scone-console", "run", "--", shielded, "you", "7"], dict(con_env, SCONE_LOG="debug"))
    assert (c.returncode, c.stdout) == (7, a.stdout)
    lines = c.stderr.decode().splitlines()
    assert lines and all(x.startswith("scone-console: host: [SCONE|") for x in lines), lines


def test_a_mebibyte_interleaved_in_odd_chunks(con_build, con_env, tmp_path):
    plain, shielded = both(con_build, "streams.c")
    a = run([plain, "bulk"], con_env)
    b = run(["scone-console", "run", "--", shielded, "bulk"], con_env)
    assert a.returncode == b.returncode == 0, b.stderr[-300:]
    assert len(a.stdout) == len(a.stderr) == 1 << 20
    assert b.stdout == a.stdout and b.stderr == a.stderr
    # the pattern streams.c bulk writes, computed here from its definition
    assert a.stdout[:5] == bytes((i * 131 + 7) % 251 for i in range(5))


def test_stdin_echo(con_build, con_env):
    plain, shielded = both(con_build, "streams.c")
    text = "".join(f"line {i} {'x' * (i % 97)}\n" for i in range(20000)).encode() + b"no newline"
    a = run([plain, "echo"], con_env, input=text)
    b = run(["scone-console", "run", "--", shielded, "echo"], con_env, input=text)
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr)
    assert a.stdout.endswith(b"NO NEWLINElines=20001 eof=1\n") and a.returncode == 20001 % 256


def test_empty_stdin_and_no_output(con_build, con_env):
    plain, shielded = both(con_build, "streams.c")
    a = run([plain, "echo"], con_env, input=b"")
    b = run(["scone-console", "run", "--", shielded, "echo"], con_env, input=b"")
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr)


def test_the_host_sees_no_plaintext(con_build, con_env, tmp_path):
    """strace of the starter (every call, -f, long strings): the marker goes
    in through stdin and comes out upper-cased; neither form is in the
    trace, while the unshielded run's trace has both (the check can fail)."""
    plain, shielded = both(con_build, "streams.c")
    marker = b"the quick secretmarker 1234\n"
    trace = tmp_path / "shielded.txt"
    b = run(["scone-console", "run", "--mrenclave", mrenclave(shielded, con_env), "--",
             "strace", "-f", "-s", "4096", "-o", trace, shielded, "echo"], con_env, input=marker)
    assert b.returncode == 1 and b"THE QUICK SECRETMARKER 1234" in b.stdout, b.stderr
    text = trace.read_text(errors="replace").lower()
    assert "secretmarker" not in text and "write" in text
    trace_plain = tmp_path / "plain.txt"
    run(["strace", "-f", "-s", "4096", "-o", trace_plain, plain, "echo"], con_env, input=marker)
    assert trace_plain.read_text(errors="replace").count("secretmarker") >= 1
    assert "SECRETMARKER" in trace_plain.read_text(errors="replace")


@pytest.fixture(scope="module")
def capture(con_build, con_env, tmp_path_factory):
    """A stdout captured to a file with a key from keygen, its frames, and the key."""
    d = tmp_path_factory.mktemp("capture")
    _, shielded = both(con_build, "streams.c")
    key = d / "k.pem"
    g = run(["scone-console", "keygen", key], con_env, text=True)
    assert g.returncode == 0, g.stderr
    name, _, value = g.stdout.strip().partition("=")
    assert name == "SCONE_CONSOLE_KEY" and len(value) == 182
    r = run([shielded, "bulk"], dict(con_env, SCONE_CONSOLE_KEY=value))
    assert r.returncode == 0
    plain = run([con_build("streams.c"), "bulk"], con_env).stdout
    return key, r.stdout, plain, shielded


def decrypt(capture, data, env, *extra):
    key, _, _, binary = capture
    return run(["scone-console", "decrypt", "--key-file", key, "--binary", binary, *extra], env,
               input=data)


def test_decrypt_a_capture(capture, con_env):
    key, data, plain, _ = capture
    fs = frames(data)
    assert fs[0][5] == 1 and fs[-1][5] == 3 and len(fs) > 64     # hello ... end
    r = decrypt(capture, data, con_env)
    assert r.returncode == 0 and r.stderr == b"" and r.stdout == plain


def _one_line(r, what):
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 3 and len(lines) == 1, (r.returncode, r.stderr[-500:])
    assert lines[0].startswith("scone-console: error: stdout: ") and what in lines[0], lines[0]


@pytest.mark.parametrize("attack", ["flip", "drop", "reorder", "replay", "truncate", "cut",
                                    "splice-hello", "length"])
def test_a_tampered_stream_ends_with_one_line(capture, con_env, attack):
    _, data, plain, _ = capture
    fs = frames(data)
    k = len(fs) // 2
    if attack == "flip":
        f = bytearray(fs[k])
        f[HDR.size + 5] ^= 0x01
        fs[k] = bytes(f)
        what = "fails authentication"
    elif attack == "drop":
        del fs[k]
        what = "missing"
    elif attack == "reorder":
        fs[k], fs[k + 1] = fs[k + 1], fs[k]
        what = "missing"
    elif attack == "replay":
        fs.insert(k + 1, fs[k])
        what = "replayed"
    elif attack == "truncate":
        fs = fs[:-1]
        what = "truncated"
    elif attack == "cut":
        fs = fs[:k] + [fs[k][:40]]
        what = "truncated"
    elif attack == "splice-hello":
        fs.insert(k, fs[0])
        what = "out of place"
    else:
        f = bytearray(fs[k])
        f[19] ^= 0x04        # the length field
        fs[k] = bytes(f)
        what = ""
    r = decrypt(capture, b"".join(fs), con_env)
    _one_line(r, what)
    # what came out before the break is the program's, in order
    assert plain.startswith(r.stdout) and (len(r.stdout) < len(plain) or attack == "truncate")


def test_bad_input_one_line_each(capture, con_build, con_env, tmp_path):
    key, data, _, shielded = capture
    # the key file: missing, not a key, another key
    r = run(["scone-console", "decrypt", "--key-file", tmp_path / "none.pem"], con_env, input=data)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and b"cannot read the key file" in r.stderr
    (tmp_path / "junk.pem").write_text("not a key\n")
    r = run(["scone-console", "decrypt", "--key-file", tmp_path / "junk.pem"], con_env, input=data)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and b"not a P-256 private key" in r.stderr
    assert run(["scone-console", "keygen", tmp_path / "other.pem"], con_env).returncode == 0
    r = run(["scone-console", "decrypt", "--key-file", tmp_path / "other.pem"], con_env, input=data)
    assert r.returncode == 3 and r.stdout == b"" and len(r.stderr.splitlines()) == 1, r.stderr
    assert b"wrong --key-file" in r.stderr
    # keygen never overwrites
    r = run(["scone-console", "keygen", key], con_env)
    assert r.returncode == 2 and b"exists" in r.stderr
    # the enclave: no key, a malformed key; nothing is written in clear
    for value in (None, "00" * 91, "zz"):
        env = dict(con_env)
        if value:
            env["SCONE_CONSOLE_KEY"] = value
        r = run([shielded, "bulk"], env)
        assert r.returncode != 0 and r.stdout == b"", r.stdout[:100]
        assert len(r.stderr.splitlines()) == 1 and b"SCONE_CONSOLE_KEY" in r.stderr, r.stderr
    # run: a program without the console policy
    r = run(["scone-console", "run", "--", con_build("streams.c"), "bulk"], con_env)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and b"does not encrypt its console" in r.stderr
    # a wrong MRENCLAVE pin
    r = decrypt(capture, data, con_env, "--mrenclave", "00" * 32)
    assert r.returncode == 3 and r.stdout == b""
    assert len(r.stderr.splitlines()) == 1 and b"MRENCLAVE" in r.stderr
    # evidence from a SIM key the client does not trust
    r = decrypt(capture, data, con_env, "--sim-key-id", "ab" * 32)
    assert r.returncode == 3 and r.stdout == b"" and len(r.stderr.splitlines()) == 1, r.stderr
    assert b"evidence" in r.stderr


def test_policy_is_measured_shown_and_linked_only_when_asked(con_build, con_env, tmp_path):
    import shutil

    plain, shielded = both(con_build, "samples/hello.c")
    import io

    from elftools.elf.elffile import ELFFile

    def symbols(binary):
        with open(binary, "rb") as f:
            image = ELFFile(f).get_section_by_name(".scone.enclave").data()
        return {s.name for s in ELFFile(io.BytesIO(image)).get_section_by_name(".symtab").iter_symbols()
                if s["st_shndx"] != "SHN_UNDEF"}

    assert "__scone_console_call" not in symbols(plain)
    assert "__scone_console_call" in symbols(shielded)
    a = json.loads(run(["scone-sign", "show", "--json", plain], con_env).stdout)
    b = json.loads(run(["scone-sign", "show", "--json", shielded], con_env).stdout)
    assert a["console"] is False and b["console"] is True
    text = run(["scone-sign", "show", shielded], con_env, text=True).stdout
    assert "console    encrypted" in text
    # turning it off re-signs to another MRENCLAVE; the host cannot do that unseen
    copy = tmp_path / "off"
    shutil.copy2(shielded, copy)
    r = run(["scone-sign", "sign", copy, "--no-console"], con_env)
    assert r.returncode == 0, r.stderr
    c = json.loads(run(["scone-sign", "show", "--json", copy], con_env).stdout)
    assert c["console"] is False and c["mrenclave"] != b["mrenclave"]
    # a policy naming the shield an enclave lacks stops the start with one line
    on = tmp_path / "on"
    shutil.copy2(plain, on)
    assert run(["scone-sign", "sign", on, "--console"], con_env).returncode == 0
    r = run([on], dict(con_env, SCONE_CONSOLE_KEY="00"))
    assert r.returncode != 0 and r.stdout == b"" and len(r.stderr.splitlines()) == 1
    assert b"linked without the console shield" in r.stderr


def test_descriptor_moves(con_build, con_env, tmp_path):
    plain, shielded = both(con_build, "streams.c")
    a = run([plain, "dups", tmp_path / "a.txt"], con_env)
    b = run(["scone-console", "run", "--", shielded, "dups", tmp_path / "b.txt"], con_env)
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr) == (0, b"a\nb\nb2\nc\nd\ne\n", b"to stderr\n")
    # a file the program itself put on fd 1 is an ordinary file: not shielded
    assert (tmp_path / "b.txt").read_bytes() == (tmp_path / "a.txt").read_bytes() == b"into the file\n"


def test_non_blocking_stdout(con_build, con_env):
    plain, shielded = both(con_build, "streams.c")
    a = run([plain, "nonblock"], con_env)
    b = run(["scone-console", "run", "--", shielded, "nonblock"], con_env)
    assert a.returncode == b.returncode == 0, b.stderr[-300:]
    assert len(a.stdout) == 1 << 20 and b.stdout == a.stdout and b.stderr == a.stderr == b""


def _stdin_session(shielded, env):
    """Start the program with our key; read its stdout hello; the stream keys."""
    import subprocess

    from scone_cc.console import frames as fr

    key = fr.new_key()
    p = subprocess.Popen([str(shielded), "echo"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(env, SCONE_CONSOLE_KEY=fr.env_value(key)))
    head = p.stdout.read(HDR.size)
    n = HDR.unpack(head)[5]
    hello = head + p.stdout.read(n + TAG)
    spki = hello[HDR.size + 2:HDR.size + 2 + 91]
    return p, hello, fr.derive(key, spki)


@pytest.mark.parametrize("attack", ["none", "flip", "drop", "replay", "truncate"])
def test_a_tampered_stdin_fails_reads_inside(con_build, con_env, attack):
    from scone_cc.console import frames as fr

    shielded = con_build("streams.c", "--scone-console")
    p, hello, keys = _stdin_session(shielded, con_env)
    enc = fr.Encoder(keys[fr.STDIN])
    fs = [enc.data(b"one\n"), enc.data(b"two\n"), enc.data(b"three\n"), enc.end()]
    if attack == "flip":
        fs[1] = fs[1][:-1] + bytes([fs[1][-1] ^ 1])
    elif attack == "drop":
        del fs[1]
    elif attack == "replay":
        fs.insert(1, fs[0])
    elif attack == "truncate":
        fs = fs[:-1]
    out, err = p.communicate(b"".join(fs), timeout=120)
    streams = []
    for data in (hello + out, err):
        dec = fr.Decoder(lambda spki, ev: keys)
        streams.append(dec.feed(data))
        dec.close()
    text = b"".join(e[1] for e in streams[0] if e[0] == "data")
    program_err = b"".join(e[1] for e in streams[1] if e[0] == "data")
    host = [e[1] for e in streams[1] if e[0] == "text"]
    if attack == "none":
        assert (p.returncode, text, program_err, host) == (3, b"ONE\nTWO\nTHREE\nlines=3 eof=1\n",
                                                           b"done\n", [])
        return
    want = {"flip": "fails authentication", "drop": "is missing", "replay": "is replayed",
            "truncate": "truncated"}[attack]
    assert len(host) == 1 and "console shield: stdin: frame " in host[0] and want in host[0], host
    assert program_err == b"done\n"
    # what came before the bad frame was read; nothing after it; the stream was
    # not at its end (stdio saw an error, not EOF)
    good = b"ONE\nTWO\nTHREE\n" if attack == "truncate" else b"ONE\n"
    lines_read = good.count(b"\n")
    assert text == good + b"lines=%d eof=0\n" % lines_read and p.returncode == lines_read


@pytest.mark.parametrize("how", ["poll", "select"])
def test_poll_sees_plaintext_buffered_inside(con_build, con_env, how):
    """One frame carries a whole line; the program polls, then reads 5 bytes
    at a time while the client keeps stdin open: each poll after the first
    must be answered from what is decrypted inside."""
    import subprocess

    shielded = con_build("streams.c", "--scone-console")
    p = subprocess.Popen(["scone-console", "run", "--", str(shielded), "pollin", how], env=con_env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"abcdefghijklmnopqrstuvwxyz\n")
    p.stdin.flush()
    import os
    import select
    import time

    out, deadline = b"", time.monotonic() + 60
    while b"\n" not in out and time.monotonic() < deadline:   # stdin stays open meanwhile
        if select.select([p.stdout], [], [], 1)[0]:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    p.stdin.close()
    p.stdin = None
    rest, err = p.communicate(timeout=60)
    assert (p.returncode, out + rest) == (0, b"abcdefghijklmnopqrstuvwxyz\n"), (out, err)
