"""The enclave: its page layout, the scone binary format, and the last step of a link.

``layout`` is pure (image bytes + signed parameters -> ``Layout``); ``binfmt``
reads and writes final binaries; ``build`` turns a linked enclave image into a
signed binary. Nothing here is imported on scone-gcc's compile path.
"""
