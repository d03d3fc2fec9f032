/* SIM's stand-in for EGETKEY (simseal.c). */
#ifndef SCONE_UNTRUSTED_SIMSEAL_H
#define SCONE_UNTRUSTED_SIMSEAL_H

#include <stddef.h>
#include <stdint.h>

#include <scone/enclave_abi.h>

#include "notecheck.h"

/* 1: out filled (the policy seals a key), 0: not needed, -1: err says why. */
int scone_sim_seal(const struct scone_note *n, const uint8_t mrenclave[32],
		   struct scone_sim_seal *out, char *err, size_t errlen);

#endif
