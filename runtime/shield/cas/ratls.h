/*
 * RA-TLS inside the enclave (scone_cc/cas/PROTOCOL.md §8): a self-signed
 * certificate of a key made here, carrying this enclave's evidence, and the
 * check of a peer's such certificate against a requirement. The network
 * shield reaches these through weak references: scone-gcc links them for a
 * policy with an RA-TLS endpoint.
 */
#ifndef SCONE_SHIELD_CAS_RATLS_H
#define SCONE_SHIELD_CAS_RATLS_H

#include <scone/crypto.h>

#include "cas.h"

/* The requirement's longest text in the signed policy (netpolicy.py). */
#define SCONE_RATLS_SPEC_MAX 255

/* Give cfg an RA-TLS identity: a P-256 key made inside, REPORTDATA =
 * SHA-256(its SPKI) || 32 zero bytes, the evidence in the extension of its
 * kind. 0, or -1 with one sentence in why. */
int __scone_ratls_identity(scone_tls_config *cfg, char *why, size_t cap) SCONE_CAS_HIDDEN;

/* Require of every peer of cfg an RA-TLS certificate meeting spec
 * ("mrenclave=HEX", or "mrsigner=HEX[;isvprodid=N][;min_isvsvn=N]", then
 * optionally ";sim" and ";debug"). -1 with one sentence in why if spec is
 * malformed. */
int __scone_ratls_require(scone_tls_config *cfg, const char *spec, char *why, size_t cap) SCONE_CAS_HIDDEN;

/* The check itself, on a certificate's DER (for tests and the above). */
int __scone_ratls_check(const uint8_t *der, size_t len, void *spec, char *why, size_t cap) SCONE_CAS_HIDDEN;

#endif
