"""``scone-image``: OCI images of scone binaries, and Kubernetes manifests for them.

DESIGN.md §10. An image is built from a recipe (``recipe``) with umoci and
skopeo (``oci``); its labels carry each enclave's identity (``labels``), so
a CAS session or a Kubernetes manifest (``k8s``) can be made from the image
alone. ``image_enclaves`` is the library entry point for other tools.
"""

from scone_cc.image.labels import image_enclaves

__all__ = ["image_enclaves"]
