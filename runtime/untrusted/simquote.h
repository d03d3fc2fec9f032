/* SIM evidence's starter half (enclave_abi.h SCONE_OCALL_SIM_QUOTE). */
#ifndef SCONE_SIMQUOTE_H
#define SCONE_SIMQUOTE_H

#include <stdint.h>

#include <scone/enclave_abi.h>

/* SIM EINIT accepted the enclave: keep the REPORT body it fixes (PROTOCOL.md
 * §3.1), from the starter's own measurement and SECS and the SIGSTRUCT. */
void scone_simquote_init(const uint8_t sigstruct[1808], const uint8_t mrenclave[32],
			 uint64_t attributes, uint64_t xfrm, uint32_t miscselect,
			 const uint8_t mrsigner[32]);

/* The OCALL: REPORT for the enclave's REPORTDATA, then the SIM key's PEM. */
long scone_simquote(const struct scone_ocall *o);

/* The OCALL: store a new SIM key 0600, once (scone_cc/cas/keyfiles.py). */
long scone_simkey_create(const struct scone_ocall *o);

#endif
