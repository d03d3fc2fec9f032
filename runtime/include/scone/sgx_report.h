/*
 * EREPORT's TARGETINFO (Intel SDM Vol. 3D §38.17, "TARGETINFO"; Intel's
 * sgx_report.h, sgx_target_info_t) and the OCALLs that take an SGX REPORT
 * to a DCAP quote (scone_cc/cas/PROTOCOL.md §3.2). The REPORT itself is
 * struct scone_sgx_report (cas_protocol.h, generated). Shared by the
 * enclave (runtime/shield/cas/evidence.c) and the starter
 * (runtime/untrusted/dcapquote.c); tests/cas/test_hw_evidence.py checks the
 * offsets against the published table.
 */
#ifndef SCONE_SGX_REPORT_H
#define SCONE_SGX_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* ABI — do not reorder: the CPU and Intel's quoting library read it. */
struct scone_sgx_targetinfo {
	uint8_t mrenclave[32];     /*   0: the target (quoting) enclave's MRENCLAVE */
	uint64_t attributes;       /*  32: its ATTRIBUTES.FLAGS */
	uint64_t xfrm;             /*  40: its ATTRIBUTES.XFRM */
	uint8_t reserved_48[2];    /*  48 (CET_ATTRIBUTES on CET parts; zero here) */
	uint16_t configsvn;        /*  50 */
	uint32_t miscselect;       /*  52 */
	uint8_t reserved_56[8];    /*  56 */
	uint8_t configid[64];      /*  64 */
	uint8_t reserved_128[384]; /* 128: the structure is 512 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct scone_sgx_targetinfo) == 512, "TARGETINFO size");
_Static_assert(offsetof(struct scone_sgx_targetinfo, attributes) == 32, "TARGETINFO.ATTRIBUTES");
_Static_assert(offsetof(struct scone_sgx_targetinfo, configsvn) == 50, "TARGETINFO.CONFIGSVN");
_Static_assert(offsetof(struct scone_sgx_targetinfo, miscselect) == 52, "TARGETINFO.MISCSELECT");
_Static_assert(offsetof(struct scone_sgx_targetinfo, configid) == 64, "TARGETINFO.CONFIGID");

/* EREPORT's operands' alignments (SDM Table 38-... "EREPORT"): TARGETINFO
 * and REPORT 512 bytes, REPORTDATA 128. */
#define SCONE_TARGETINFO_ALIGN 512
#define SCONE_REPORT_ALIGN 512
#define SCONE_REPORTDATA_ALIGN 128

/* An SGX ECDSA quote v3 is at least header 48 + body 384 + u32 + the
 * fixed signature data (64 + 64 + 384 + 64 + 2 + 2 + 4); at most what the
 * host buffer holds (a PCK chain in PEM is some 4 KiB). */
#define SCONE_DCAP_QUOTE_MIN (48 + 384 + 4 + 584)
#define SCONE_DCAP_HOST_BUF (64u * 1024)

/*
 * HW evidence (PROTOCOL.md §3.2), the starter's half, through Intel's DCAP
 * quote library (libsgx_dcap_ql.so.1, loaded with dlopen on first use).
 * args[0] = a host buffer of args[1] bytes (SCONE_DCAP_HOST_BUF).
 *
 * SCONE_OCALL_QE_TARGET: the host writes the quoting enclave's 512-byte
 * TARGETINFO (sgx_qe_get_target_info) at args[0]; 0 or -errno.
 * SCONE_OCALL_DCAP_QUOTE: args[0] holds the enclave's 432-byte REPORT
 * (EREPORT against that TARGETINFO); the host writes the quote there
 * (sgx_qe_get_quote_size, sgx_qe_get_quote) and answers its length, or
 * -errno.
 * On failure the host writes one NUL-terminated sentence at args[0] (the
 * enclave shows it after checking it is printable and bounded): -ENOENT the
 * library is not installed, -ENOSYS it lacks a function, -EIO the library
 * refused (its quote3_error_t in the sentence), -EFBIG the quote does not
 * fit, -EINVAL a bad buffer.
 */
#define SCONE_OCALL_QE_TARGET 1028
#define SCONE_OCALL_DCAP_QUOTE 1029
#define SCONE_DCAP_LIBRARY "libsgx_dcap_ql.so.1"

#endif
