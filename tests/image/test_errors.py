"""Bad input to scone-image: one error line, exit 2, no partial image, no file of the user's touched."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import run


def refused(out, *words):
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scone-image: error: "), out.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def only(folder, *names):
    """Nothing else in ``folder``: in particular no temporary build directory left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def write(path, text):
    path.write_text(text)
    return path


def test_missing_file(hello, image_env, tmp_path):
    recipe = write(tmp_path / "r.toml", '[[enclave]]\nsource = "build/nothere"\n')
    line = refused(run(["scone-image", "build", recipe, "-o", tmp_path / "out"], env=image_env),
                   "enclave[0].source", "build/nothere", "no such file")
    assert "relative to the recipe" in line
    only(tmp_path, "r.toml")


def test_not_a_scone_binary_unless_an_ordinary_file(hello, image_env, tmp_path):
    shutil.copy("/bin/true", tmp_path / "true")
    shutil.copy(hello / "hello", tmp_path / "hello")
    recipe = write(tmp_path / "r.toml", '[[enclave]]\nsource = "true"\n')
    refused(run(["scone-image", "build", recipe, "-o", tmp_path / "out"], env=image_env),
            "true", "not a scone binary", "scone-gcc")
    only(tmp_path, "r.toml", "true", "hello")
    # The same file listed as an ordinary file goes in.
    write(recipe, '[[enclave]]\nsource = "hello"\n[[file]]\nsource = "true"\ntarget = "/bin/true"\n')
    out = run(["scone-image", "build", recipe, "-o", tmp_path / "out"], env=image_env)
    assert out.returncode == 0, out.stderr


def test_modified_binary(hello, image_env, tmp_path):
    """A binary whose enclave changed after signing would not start: it is refused, not labelled."""
    data = bytearray((hello / "hello").read_bytes())
    at = data.find(b"Hello, %s")
    assert at > 0
    data[at] ^= 0x20
    (tmp_path / "hello").write_bytes(bytes(data))
    recipe = write(tmp_path / "r.toml", '[[enclave]]\nsource = "hello"\n')
    refused(run(["scone-image", "build", recipe, "-o", tmp_path / "o"], env=image_env),
            "hello", "changed after")


@pytest.fixture
def readonly_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    yield ro
    subprocess.run(["umount", str(ro)], check=True)


def test_unwritable_output(hello, image_env, readonly_dir):
    refused(run(["scone-image", "build", hello / "hello.toml", "-o", readonly_dir / "img.tar"],
                env=image_env), "img.tar", "cannot write", "Read-only file system")
    only(readonly_dir)


def test_output_in_missing_folder(hello, image_env, tmp_path):
    refused(run(["scone-image", "build", hello / "hello.toml", "-o", tmp_path / "no" / "img"],
                env=image_env), "no such directory")


def test_never_overwrites_a_file_that_is_not_an_image(hello, image_env, tmp_path):
    mine = write(tmp_path / "notes.tar", "my notes\n")
    refused(run(["scone-image", "build", hello / "hello.toml", "-o", mine], env=image_env),
            "exists and is not an image")
    assert mine.read_text() == "my notes\n"


def test_failure_midway_keeps_the_old_image(hello, image_env, tmp_path):
    """A volume holding a FIFO fails while the layer is laid out: the old image stays as it was."""
    first = run(["scone-image", "build", hello / "hello.toml", "-o", tmp_path / "img", "--json"],
                env=image_env)
    assert first.returncode == 0, first.stderr
    before = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in (tmp_path / "img").rglob("*")
                    if p.is_file())
    (tmp_path / "vol").mkdir()
    os.mkfifo(tmp_path / "vol" / "pipe")
    recipe = write(tmp_path / "r.toml", f'[[enclave]]\nsource = "{hello / "hello"}"\n'
                   '[[enclave.volume]]\nsource = "vol"\ntarget = "/data"\n')
    refused(run(["scone-image", "build", recipe, "-o", tmp_path / "img"], env=image_env),
            "pipe", "neither a file")
    after = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in (tmp_path / "img").rglob("*")
                   if p.is_file())
    assert after == before
    only(tmp_path, "img", "vol", "r.toml")


@pytest.mark.parametrize("text, words", [
    ("[[enclave]\n", ("not valid TOML",)),
    ('[[enclave]]\nsource = "hello"\ntraget = "/x"\n', ("enclave[0].traget", "unknown key")),
    ('[[enclave]]\nsource = "hello"\ntarget = "bin/x"\n', ("must be an absolute path",)),
    ('[[enclave]]\nsource = "hello"\ntarget = "/proc/x"\n', ("/proc", "mounts over")),
    ('[[enclave]]\nsource = "hello"\n[[file]]\nsource = "hello"\ntarget = "/usr/bin/hello"\n',
     ("overlaps",)),
    ('mode = "FAST"\n[[enclave]]\nsource = "hello"\n', ("mode", "SIM, AUTO, HW")),
    ('[[enclave]]\nsource = "hello"\n[config]\nports = [70000]\n', ("ports", "not a port")),
    ('[[enclave]]\nsource = "hello"\n[config]\nports = { http = 80 }\n', ("ports", "expected a port")),
    ('[[enclave]]\nsource = "hello"\n[config]\nenv = { A = 1 }\n', ("config.env", "table of strings")),
    ('[[enclave]]\nsource = "hello"\n[[enclave.volume]]\nsource = "hello"\ntarget = "/d"\n',
     ("volume[0].source", "not a directory")),
    ('name = "Hello World"\n[[enclave]]\nsource = "hello"\n', ("not an image name",)),
    ('[file]\nsource = "x"\n', ("names no [[enclave]]",)),
    ('[[enclave]]\nsource = "hello"\n[config]\nuser = "redis"\n', ("config.user", "numeric")),
])
def test_bad_recipes(hello, image_env, tmp_path, text, words):
    shutil.copy(hello / "hello", tmp_path / "hello")
    recipe = write(tmp_path / "r.toml", text)
    refused(run(["scone-image", "build", recipe, "-o", tmp_path / "out"], env=image_env),
            "r.toml", *words)
    only(tmp_path, "hello", "r.toml")


def test_not_an_image(image_env, tmp_path):
    write(tmp_path / "x.tar", "x")
    refused(run(["scone-image", "inspect", tmp_path / "x.tar"], env=image_env),
            "not an image archive")
    refused(run(["scone-image", "inspect", tmp_path / "none"], env=image_env), "no such image")


def test_image_without_enclave_labels(image_env, tmp_path):
    """An image not built by scone-image (made by umoci alone) has no enclave to report."""
    assert run(["umoci", "init", "--layout", tmp_path / "plain"]).returncode == 0
    assert run(["umoci", "new", "--image", f"{tmp_path / 'plain'}:v1"]).returncode == 0
    refused(run(["scone-image", "inspect", f"{tmp_path / 'plain'}:v1"], env=image_env),
            "no scone.enclaves label", "scone-image build")
    refused(run(["scone-image", "k8s", tmp_path / "plain"], env=image_env),
            "no scone.enclaves label")


def test_run_with_a_missing_device(hello, image_env, tmp_path):
    out = run(["scone-image", "build", hello / "hello.toml", "-o", tmp_path / "img"], env=image_env)
    assert out.returncode == 0, out.stderr
    def scratch():
        return set(Path(tempfile.gettempdir()).glob("scone-image-run-*"))

    before = scratch()
    refused(run(["scone-image", "run", "--device", "/dev/sgx_nothere", tmp_path / "img"],
                env=image_env), "--device /dev/sgx_nothere", "No such file")
    assert scratch() <= before  # its bundle was removed
