/*
 * Evidence for a REPORTDATA (scone_cc/cas/PROTOCOL.md §3), for the CAS
 * client (attest.c) and RA-TLS (ratls.c): SIM evidence when the starter
 * runs the SIM backend, else EREPORT against Intel's quoting enclave and a
 * DCAP quote. Errors are one sentence in err, never an exit: the network
 * shield asks for evidence after main has started.
 */
#ifndef SCONE_SHIELD_CAS_EVIDENCE_H
#define SCONE_SHIELD_CAS_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cas.h"

enum scone_evidence_kind { SCONE_EVIDENCE_SIM = 1, SCONE_EVIDENCE_DCAP = 2 };

/* The kind this enclave makes: the host's claim (START's SIM flag). A host
 * that claims SIM on hardware only makes the enclave send SIM evidence,
 * which verifiers refuse unless their policy allows SIM; one that claims
 * HW in SIM makes EREPORT fault. */
int __scone_evidence_kind(void) SCONE_CAS_HIDDEN;

/* The PROTOCOL name of a kind: "sim" or "dcap". */
const char *__scone_evidence_name(int kind) SCONE_CAS_HIDDEN;

/* Evidence binding rd into *out (malloc'd, the caller frees) of *len bytes,
 * its kind in *kind. 0, or -1 with one sentence in err. */
int __scone_evidence(const uint8_t rd[64], uint8_t **out, size_t *len, int *kind, char *err,
		     size_t errlen) SCONE_CAS_HIDDEN;

/* This machine's SIM attestation key as the 65-byte point 04||X||Y (what a
 * verifier in SIM trusts); 0, or -1 with one sentence in err. */
int __scone_evidence_sim_key(uint8_t point[65], char *err, size_t errlen) SCONE_CAS_HIDDEN;

/* r || s (32 bytes each) <-> an ECDSA signature's DER. */
int __scone_sig_der_to_rs(const uint8_t *d, size_t n, uint8_t out[64]) SCONE_CAS_HIDDEN;
size_t __scone_sig_rs_to_der(const uint8_t rs[64], uint8_t out[72]) SCONE_CAS_HIDDEN;

#endif
