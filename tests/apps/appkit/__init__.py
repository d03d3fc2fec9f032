"""Real programs built unmodified: fetch, build per flavour, run their own suites.

Each program has one module here (``zlib``, ``lua``, ``sqlite``, ...) with
``build(flavour)`` returning its built tree and functions that run its own
tests and return counts. ``tests/apps`` and ``bench/app_*.py`` share them.
"""
