"""scone-image build: a real OCI image of samples/hello.c, its labels, its digest, its content.

Expected values come from elsewhere: MRENCLAVE from the C loader
(``SCONE_HASH=1 ./hello``), MRSIGNER from the key file (SHA-256 of the
modulus, little-endian, sgx-spec §6), the image's format and labels from
skopeo and umoci.
"""

import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .conftest import run, skopeo_labels


def build(recipe, output, env, *extra):
    return run(["scone-image", "build", recipe, "-o", output, *extra], env=env)


def test_labels_carry_the_enclave_identity(hello, image_env, tmp_path):
    out = build(hello / "hello.toml", tmp_path / "img", image_env)
    assert out.returncode == 0, out.stderr
    info = skopeo_labels(f"oci:{tmp_path / 'img'}:latest")
    labels = info["Labels"]

    hashed = run([hello / "hello"], env=dict(image_env, SCONE_HASH="1"))
    assert hashed.returncode == 0, hashed.stderr
    mrenclave = hashed.stdout.split()[-1]
    key = load_pem_private_key(
        (Path(image_env["HOME"]) / ".config/scone/enclave-key.pem").read_bytes(), None)
    modulus = key.public_key().public_numbers().n
    mrsigner = hashlib.sha256(modulus.to_bytes(384, "little")).hexdigest()

    assert labels["scone.enclaves"] == "1"
    assert labels["scone.enclave.0.path"] == "/usr/bin/hello"
    assert labels["scone.enclave.0.mrenclave"] == mrenclave
    assert labels["scone.enclave.0.mrsigner"] == mrsigner
    # scone-gcc's defaults (README): 64M heap, 1M stacks, 8 TCS, debug, product 0, SVN 0.
    assert labels["scone.enclave.0.heap"] == str(64 << 20)
    assert labels["scone.enclave.0.stack"] == str(1 << 20)
    assert labels["scone.enclave.0.tcs"] == "8"
    assert labels["scone.enclave.0.debug"] == "true"
    assert labels["scone.enclave.0.isvprodid"] == "0" and labels["scone.enclave.0.isvsvn"] == "0"
    # SECS.SIZE: the smallest power of two holding the pages (sgx-spec): 128 MiB for 64 MiB
    # of heap plus 8 threads' stacks.
    assert labels["scone.enclave.0.size"] == str(128 << 20)
    epc = int(labels["scone.enclave.0.epc"])
    assert (64 << 20) + 8 * (1 << 20) < epc < (128 << 20)
    assert info["Created"] == "1970-01-01T00:00:00Z"
    assert info["Env"] == ["SCONE_MODE=SIM"]

    # The library call other tools use reads the same facts back.
    from scone_cc.image import image_enclaves
    (facts,) = image_enclaves(str(tmp_path / "img"))
    assert facts["mrenclave"] == mrenclave and facts["mrsigner"] == mrsigner
    assert facts["debug"] is True and facts["epc_size"] == epc and facts["volumes"] == []
    shown = run(["scone-image", "inspect", "--json", tmp_path / "img"], env=image_env)
    assert json.loads(shown.stdout) == [facts]

    # The history entry umoci stat prints, with the build time, not the clock.
    stat = run(["umoci", "stat", "--json", "--image", f"{tmp_path / 'img'}:latest"])
    history = json.loads(stat.stdout)["history"]
    assert [h["created_by"] for h in history] == ["scone-image build"]
    assert history[0]["created"].startswith("1970-01-01T00:00:00")
    assert history[0]["comment"] == f"/usr/bin/hello MRENCLAVE {mrenclave} MRSIGNER {mrsigner}"


def test_same_inputs_same_digest(hello, image_env, tmp_path):
    """Two builds of the same inputs (the binary's mtime changed in between) give one digest;
    another SOURCE_DATE_EPOCH gives another; the archive holds the same manifest."""
    env = dict(image_env, SOURCE_DATE_EPOCH="1700000000")
    first = build(hello / "hello.toml", tmp_path / "a", env, "--json")
    assert first.returncode == 0, first.stderr
    os.utime(hello / "hello", (1, 1))
    second = build(hello / "hello.toml", tmp_path / "b.tar", env, "--json")
    other = build(hello / "hello.toml", tmp_path / "c", dict(env, SOURCE_DATE_EPOCH="1700000001"),
                  "--json")
    d = [json.loads(r.stdout)["digest"] for r in (first, second, other)]
    assert d[0] == d[1] != d[2]
    assert skopeo_labels(f"oci:{tmp_path / 'a'}:latest")["Digest"] == d[0]
    assert skopeo_labels(f"oci-archive:{tmp_path / 'b.tar'}")["Digest"] == d[0]
    assert skopeo_labels(f"oci:{tmp_path / 'c'}:latest")["Created"] == "2023-11-14T22:13:21Z"


def test_image_holds_only_the_recipe(hello, image_env, tmp_path):
    """No base image: the enclave binary, a volume, a file and /tmp, nothing else; owned by
    root but for the volume's owner, mtimes at the build time; the compressed layer is smaller than the binary."""
    (tmp_path / "vol" / "sub").mkdir(parents=True)
    (tmp_path / "vol" / "sub" / "seed.txt").write_text("seed\n")
    (tmp_path / "app.conf").write_text("x=1\n")
    os.symlink("hello", tmp_path / "link")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'''
name = "hello-vol"
tag = "1.0"
[[enclave]]
source = "{hello / 'hello'}"
target = "/app/hello"
[[enclave.volume]]
source = "vol"
target = "/data"
owner = "999:998"
[[file]]
source = "app.conf"
target = "/etc/app.conf"
mode = "0600"
[[file]]
source = "link"
target = "/app/link"
[config]
env = {{ GREETING = "hi" }}
ports = [8080, "53/udp"]
user = "1000:1000"
workdir = "/data"
labels = {{ "org.example.team" = "enclaves" }}
''')
    out = build(recipe, tmp_path / "img", image_env)
    assert out.returncode == 0, out.stderr
    bundle = tmp_path / "bundle"
    unpack = run(["umoci", "unpack", "--image", f"{tmp_path / 'img'}:1.0", bundle])
    assert unpack.returncode == 0, unpack.stderr
    rootfs = bundle / "rootfs"
    found = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*"))
    assert found == ["app", "app/hello", "app/link", "data", "data/sub", "data/sub/seed.txt",
                     "etc", "etc/app.conf", "tmp"]
    assert os.readlink(rootfs / "app/link") == "hello"
    assert (rootfs / "app/hello").read_bytes() == (hello / "hello").read_bytes()
    assert oct((rootfs / "etc/app.conf").stat().st_mode & 0o7777) == "0o600"
    assert oct((rootfs / "app/hello").stat().st_mode & 0o7777) == "0o755"
    assert oct((rootfs / "tmp").stat().st_mode & 0o7777) == "0o1777"
    for p in [rootfs, *rootfs.rglob("*")]:
        st = p.lstat()
        owner = (999, 998) if p.relative_to(rootfs).parts[:1] == ("data",) else (0, 0)
        assert (st.st_uid, st.st_gid, int(st.st_mtime)) == (*owner, 0), p

    config = json.loads(run(["skopeo", "inspect", "--config",
                             f"oci:{tmp_path / 'img'}:1.0"]).stdout)["config"]
    assert config["Entrypoint"] == ["/app/hello"]
    assert config["Env"] == ["SCONE_MODE=SIM", "GREETING=hi"]
    assert sorted(config["ExposedPorts"]) == ["53/udp", "8080/tcp"]
    assert config["User"] == "1000:1000" and config["WorkingDir"] == "/data"
    assert config["Labels"]["org.example.team"] == "enclaves"
    assert config["Labels"]["scone.enclave.0.volumes"] == "/data"
    layers = json.loads(run(["skopeo", "inspect", f"oci:{tmp_path / 'img'}:1.0"]).stdout)
    assert len(layers["Layers"]) == 1
    blob = tmp_path / "img" / "blobs" / "sha256" / layers["Layers"][0].split(":")[1]
    assert blob.stat().st_size < (hello / "hello").stat().st_size


def test_rebuild_replaces_an_image_in_place(hello, image_env, tmp_path):
    for output in (tmp_path / "img", tmp_path / "img.tar"):
        for _ in range(2):
            out = build(hello / "hello.toml", output, image_env)
            assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img", "img.tar"]


def test_labels_follow_the_signed_parameters(hello, image_env, tmp_path):
    """A copy re-signed for production with other parameters: the labels are the options given."""
    binary = tmp_path / "app"
    binary.write_bytes((hello / "hello").read_bytes())
    binary.chmod(0o755)
    sign = run(["scone-sign", "sign", "--production", "--isvprodid", "7", "--isvsvn", "3",
                "--heap", "16M", "--stack", "128K", "--tcs", "2", binary], env=image_env)
    assert sign.returncode == 0, sign.stderr
    (tmp_path / "r.toml").write_text('[[enclave]]\nsource = "app"\n')
    out = run(["scone-image", "build", tmp_path / "r.toml", "-o", tmp_path / "img"], env=image_env)
    assert out.returncode == 0, out.stderr
    labels = skopeo_labels(f"oci:{tmp_path / 'img'}:latest")["Labels"]
    got = {k.rsplit(".", 1)[1]: v for k, v in labels.items() if k.startswith("scone.enclave.0.")}
    assert {k: got[k] for k in ("isvprodid", "isvsvn", "debug", "heap", "stack", "tcs")} == {
        "isvprodid": "7", "isvsvn": "3", "debug": "false", "heap": str(16 << 20),
        "stack": str(128 << 10), "tcs": "2"}
    assert got["mrenclave"] == run([binary], env=dict(image_env, SCONE_HASH="1")).stdout.split()[-1]
