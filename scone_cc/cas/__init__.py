"""scone-cas: the configuration and attestation service (DESIGN.md §9).

The protocol is written down in PROTOCOL.md beside this file. Parts:
``report`` (SGX REPORT layout), ``sim`` (SIM evidence), ``dcap`` (ECDSA quote
v3), ``evidence`` (one verifier for both), ``policy`` (session schema and
matching), ``secrets`` (generated secrets, session CA), ``envelope`` (the
configuration encrypted to the enclave's key), ``store`` (SQLite),
``server`` (the HTTPS API), ``client`` (the same API from Python), ``ratls``
(attested TLS certificates), ``cli`` (``scone-cas``).
"""
