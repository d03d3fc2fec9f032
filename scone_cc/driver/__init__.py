"""scone-gcc: a gcc-compatible driver that builds against the scone sysroot.

Import-cheap by design: builds run the compile path thousands of times, so
only ``gcc`` (entry), ``options``, ``hostgcc`` and ``compile`` load there;
``link``, ``settings`` and ``info`` load only when they are needed.
"""
