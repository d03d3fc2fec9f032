/*
 * One loader interface, two backends (SIM and HW), called in the order the
 * hardware requires: create, add (in layout order), init, then enter.
 * Each returns 0 or a negative errno and, on failure, writes one line for
 * the user into err (what failed, and how to fix it).
 */
#ifndef SCONE_BACKEND_H
#define SCONE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct scone_enclave;              /* backend-private */

struct scone_secs_params {
	uint64_t size;             /* SECS.SIZE */
	uint32_t ssa_frame_pages;  /* SECS.SSAFRAMESIZE */
	uint32_t miscselect;        /* the SIGSTRUCT's; HW clears free bits the CPU lacks */
	uint32_t miscmask;         /* the SIGSTRUCT's MISCMASK */
	uint64_t attributes;       /* SECS.ATTRIBUTES.FLAGS (INIT clear) */
	uint64_t xfrm;             /* SECS.ATTRIBUTES.XFRM */
};

struct scone_backend {
	const char *name;          /* "SIM" or "HW" */
	/* 1 if this backend can run here; else 0 and a reason in err. */
	int (*available)(char *err, size_t errlen);
	/* Reserve SIZE bytes aligned to SIZE, ECREATE. *base gets the address. */
	int (*create)(struct scone_enclave **e, const struct scone_secs_params *p,
		      uint64_t *base, char *err, size_t errlen);
	/* EADD count pages at offset from src (count*4096 bytes), EEXTEND them
	 * all if measure. secinfo = SECINFO.FLAGS. */
	int (*add)(struct scone_enclave *e, uint64_t offset, const void *src,
		   uint32_t count, uint64_t secinfo, int measure,
		   char *err, size_t errlen);
	/* EINIT with the SIGSTRUCT: checks signature, MRENCLAVE, attributes. */
	int (*init)(struct scone_enclave *e, const uint8_t sigstruct[1808],
		    char *err, size_t errlen);
	/* EENTER the TCS at enclave offset tcs with RDI = op, RSI = arg; return
	 * when the enclave EEXITs, with its RDI in *reason and RSI in *value. */
	int (*enter)(struct scone_enclave *e, uint64_t tcs, uint64_t op,
		     uint64_t arg, uint64_t *reason, uint64_t *value);
	/* MRENCLAVE as measured by this loader (SIM: computed in C). */
	int (*mrenclave)(struct scone_enclave *e, uint8_t out[32]);
	void (*destroy)(struct scone_enclave *e);
};

extern const struct scone_backend scone_backend_sim;
extern const struct scone_backend scone_backend_hw;

#endif
