/* HW evidence's starter half (sgx_report.h SCONE_OCALL_QE_TARGET, _DCAP_QUOTE). */
#ifndef SCONE_DCAPQUOTE_H
#define SCONE_DCAPQUOTE_H

#include <scone/enclave_abi.h>
#include <scone/sgx_report.h>

/* The OCALLs: the quoting enclave's TARGETINFO; a quote for a REPORT. */
long scone_dcap_target(const struct scone_ocall *o);
long scone_dcap_quote(const struct scone_ocall *o);

#endif
