"""``scone-image``: build, inspect and run OCI images of scone binaries; Kubernetes manifests.

The commands are thin: the work is in scone_cc.image.{build,labels,run,k8s}.
Bad input is one ``scone-image: error: ...`` line and exit 2; ``run`` exits
with the container's status.
"""

from __future__ import annotations

import json
import sys

import click

from scone_cc.errors import SconeError, run_cli

PROG = "scone-image"


def _json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """OCI images of scone binaries, labelled with their enclaves' identities."""


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Where to write the image: a directory (OCI layout) or FILE.tar (archive).")
@click.option("--format", "fmt", type=click.Choice(["oci", "oci-archive", "docker-archive"]),
              help="Output format (default: oci-archive for *.tar, else an OCI layout).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build(recipe, output, fmt, as_json):
    """Build the image that RECIPE (TOML) describes.

    Reproducible: the same inputs and SOURCE_DATE_EPOCH give the same digest.
    """
    import signal

    from scone_cc.image import build as build_mod, recipe as recipe_mod

    def terminated(signum, frame):
        # An exception, so that the build's clean-up runs: no temporary directory is left.
        raise SconeError(f"{output}: build stopped by signal {signum}; nothing was written",
                         128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    built = build_mod.build(recipe_mod.load(recipe), output, fmt=fmt)
    if as_json:
        _json({"output": str(built.path), "format": built.format, "reference": built.reference,
               "digest": built.digest, "size": built.size, "created": built.created,
               "enclaves": built.enclaves})
        return
    click.echo(f"built {built.path} ({built.format}, {built.reference}, {_mib(built.size)})")
    click.echo(f"  digest    {built.digest}")
    for e in built.enclaves:
        click.echo(f"  enclave   {e['path']}  MRENCLAVE {e['mrenclave']}")


@cli.command()
@click.argument("image")
@click.option("--json", "as_json", is_flag=True, help="Print the enclaves as JSON.")
def inspect(image, as_json):
    """Print the enclaves IMAGE carries (from its labels).

    IMAGE is an OCI layout (DIR or DIR:TAG), an image archive, or a skopeo
    reference (docker://…, containers-storage:…).
    """
    from scone_cc.image.labels import image_enclaves

    enclaves = image_enclaves(image)
    if as_json:
        _json(enclaves)
        return
    for e in enclaves:
        click.echo(e["path"])
        for key, value in e.items():
            if key != "path":
                shown = ",".join(value) if isinstance(value, list) else value
                click.echo(f"  {key:<13} {str(shown).lower() if isinstance(value, bool) else shown}")


def _env_pairs(values) -> list[tuple[str, str]]:
    pairs = []
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise SconeError(f"--env {text!r}: write KEY=VALUE")
        pairs.append((key, value))
    return pairs


@cli.command(context_settings={"allow_interspersed_args": False})
@click.argument("image")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("-e", "--env", multiple=True, metavar="KEY=VALUE",
              help="Set an environment variable in the container (repeatable).")
@click.option("--mode", type=click.Choice(["SIM", "AUTO", "HW"]),
              help="SCONE_MODE for this run (default: the image's).")
@click.option("--cas", "cas_addr", metavar="HOST:PORT", help="SCONE_CAS_ADDR for this run.")
@click.option("--config-id", metavar="SESSION/SERVICE", help="SCONE_CONFIG_ID for this run.")
@click.option("--device", "devices", multiple=True, metavar="PATH",
              help="Pass this device in (default: /dev/sgx_enclave, /dev/sgx_provision and "
                   "/dev/scone where they exist).")
@click.option("--no-devices", is_flag=True, help="Pass no device in.")
@click.option("--entrypoint", metavar="PATH",
              help="Run this program of the image instead of its entry point (and command).")
def run(image, args, env, mode, cas_addr, config_id, devices, no_devices, entrypoint):
    """Run IMAGE under runc (as root), host network, SGX devices passed in if present.

    ARGS after the image replace its command (write -- before them if they
    start with -). Exits with the container's status.
    """
    from scone_cc.image import run as run_mod

    pairs = _env_pairs(env)
    for key, value in (("SCONE_MODE", mode), ("SCONE_CAS_ADDR", cas_addr),
                       ("SCONE_CONFIG_ID", config_id)):
        if value:
            pairs.append((key, value))
    if args[:1] == ("--",):
        args = args[1:]
    chosen = [] if no_devices else (list(devices) or None)
    sys.exit(run_mod.run(image, args=list(args) if args else None, entrypoint=entrypoint,
                         env=pairs, devices=chosen))


@cli.command()
@click.argument("source")
@click.option("--image-ref", metavar="REF",
              help="The image as the cluster pulls it, e.g. registry.example/redis:1 "
                   "(default: NAME:TAG from the image or recipe).")
@click.option("--name", help="Name of the objects (default: the image's name).")
@click.option("--namespace", help="Namespace of the objects.")
@click.option("--kind", type=click.Choice(["deployment", "job"]),
              help="Deployment (default when the image exposes ports) or Job.")
@click.option("--mode", type=click.Choice(["HW", "AUTO", "SIM"]), default="HW", show_default=True,
              help="SCONE_MODE in the pod; SIM asks for no SGX resources.")
@click.option("--cas", "cas_addr", metavar="HOST:PORT",
              help="SCONE_CAS_ADDR (attestation: also asks for sgx.intel.com/provision).")
@click.option("--config-id", metavar="SESSION/SERVICE", help="SCONE_CONFIG_ID.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the YAML here (default: standard output).")
def k8s(source, image_ref, name, namespace, kind, mode, cas_addr, config_id, output):
    """Kubernetes manifests for SOURCE: an image (labels) or a recipe (*.toml, its binaries).

    The container asks the SGX device plugin for sgx.intel.com/enclave,
    sgx.intel.com/epc (the enclave's pages) and, with a CAS,
    sgx.intel.com/provision.
    """
    from scone_cc.image import k8s as k8s_mod

    if source.endswith(".toml"):
        from scone_cc.image import recipe as recipe_mod

        facts = k8s_mod.from_recipe(recipe_mod.load(source))
    else:
        facts = k8s_mod.from_image(source)
    env = dict(facts.pop("env"))
    if cas_addr:
        env["SCONE_CAS_ADDR"] = cas_addr
    if config_id:
        env["SCONE_CONFIG_ID"] = config_id
    default_name = facts.pop("name").rsplit("/", 1)[-1].replace("_", "-").replace(".", "-")
    ref = image_ref or facts.pop("image_ref")
    facts.pop("image_ref", None)
    text = k8s_mod.to_yaml(k8s_mod.manifests(
        name=name or default_name, image_ref=ref, env=list(env.items()), kind=kind, mode=mode,
        namespace=namespace, **facts))
    if output is None:
        click.echo(text, nl=False)
        return
    from scone_cc.fsutil import atomic_write

    try:
        atomic_write(output, text.encode())
    except OSError as err:
        raise SconeError(f"{output}: cannot write ({err.strerror}); choose a writable path") \
            from None
    click.echo(f"wrote {output}")


def main():
    """Console entry point: errors become one stderr line (scone_cc.errors.run_cli)."""
    run_cli(PROG, cli)


if __name__ == "__main__":
    main()
