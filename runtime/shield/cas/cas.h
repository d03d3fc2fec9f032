/*
 * What the attestation client (attest.c, DESIGN.md §9) keeps for the other
 * shields once the CAS has configured the enclave before main. All of it
 * lives in enclave memory only; nothing here is valid before main.
 */
#ifndef SCONE_SHIELD_CAS_H
#define SCONE_SHIELD_CAS_H

#include <stddef.h>
#include <stdint.h>

#define SCONE_CAS_HIDDEN __attribute__((visibility("hidden")))

/* Exit codes of a start the CAS or its client stopped (README "scone-cas"). */
#define SCONE_CAS_EXIT_REFUSED 3   /* "scone-cas refused: REASON" */
#define SCONE_CAS_EXIT_FAILED 2    /* "scone-cas: REASON": unreachable, malformed, ... */

struct scone_cas_volume {
	const char *name;
	const char *path;              /* mount point: an encrypted region's prefix */
	uint8_t key[16];               /* the fs shield's format key (scone-fs --key-hex) */
	uint8_t tag[32];               /* its current tag: the CAS's, then each commit's */
	int has_tag;                   /* 0: none yet (first run, nothing committed) */
};

struct scone_cas_tls {
	const char *name;
	const char *certificate, *private_key, *ca;   /* PEM, NUL-terminated, or NULL */
};

/* The volume mounted at path (exact prefix), or NULL: for the fs shield. */
const struct scone_cas_volume *__scone_cas_volume(const char *path) SCONE_CAS_HIDDEN;
/* The TLS identity called name in the policy, or NULL: for the net shield.
 * name NULL: the attested key's own identity (certificate + session CA). */
const struct scone_cas_tls *__scone_cas_tls(const char *name) SCONE_CAS_HIDDEN;

/*
 * The fs shield's commit hook (PROTOCOL.md §5): send a volume's new tag
 * with this enclave's token, previous = the tag it started from (NULL on a
 * first commit). 0 when the CAS has it on disk; -1 with one sentence in err
 * (a 409 "conflict" means another commit came in between: the caller must
 * not consider its commit durable).
 */
int __scone_cas_commit_tag(const char *volume, const uint8_t tag[32], const uint8_t *previous,
			   char *err, size_t errlen) SCONE_CAS_HIDDEN;

#endif
