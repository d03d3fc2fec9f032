"""scone: run unmodified C programs inside Intel SGX enclaves.

This module must stay import-cheap: scone-gcc's compile path imports it on
every invocation. Heavy dependencies (pyelftools, capstone, rich,
cryptography) are imported only inside the modules that need them.
"""

__version__ = "0.1.0"
