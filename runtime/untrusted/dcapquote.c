/*
 * HW evidence, the starter's half (scone_cc/cas/PROTOCOL.md §3.2): Intel's
 * DCAP quote library (libsgx_dcap_ql.so.1, "SGX ECDSA Quote Library
 * Reference", in-process quoting) gives the quoting enclave's TARGETINFO,
 * the enclave runs EREPORT against it inside, and the library turns that
 * REPORT into a quote. The host sees only what it could see anyway: the
 * REPORT is MACed for the quoting enclave, and the quote is public evidence.
 *
 * The library is loaded with dlopen on first use, so that a binary runs on
 * machines without it (SIM, or HW enclaves that never attest). The starter
 * is a static program: glibc then loads the library with a libc.so of its
 * own, which works when the installed glibc is the one the starter was
 * built against (README "Attestation" says this is untested here: no SGX,
 * no DCAP library on the build machine).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <scone/cas_protocol.h>
#include <scone/sgx_report.h>

#include "dcapquote.h"

/* sgx_dcap_ql_wrapper.h: quote3_error_t is an enum, SGX_QL_SUCCESS = 0. */
typedef int (*get_target_fn)(struct scone_sgx_targetinfo *);
typedef int (*get_size_fn)(uint32_t *);
typedef int (*get_quote_fn)(const struct scone_sgx_report *, uint32_t, uint8_t *);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *lib;
static get_target_fn get_target;
static get_size_fn get_size;
static get_quote_fn get_quote;

/* One sentence into the host buffer for the enclave's line; returns rc. */
static long say(uint8_t *buf, size_t cap, long rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static long say(uint8_t *buf, size_t cap, long rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf((char *)buf, cap, fmt, ap);
	va_end(ap);
	return rc;
}

/* Load the library and its three functions once; 0 or -errno with the sentence. */
static long load(uint8_t *buf, size_t cap)
{
	long rc = 0;
	pthread_mutex_lock(&lock);
	if (!lib) {
		void *h = dlopen(SCONE_DCAP_LIBRARY, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			const char *e = dlerror();
			rc = say(buf, cap, -ENOENT, "DCAP quote library not installed: %s; install Intel's "
				 "libsgx-dcap-ql (and configure its PCCS) to attest on SGX hardware",
				 e ? e : SCONE_DCAP_LIBRARY);
		} else {
			get_target = (get_target_fn)dlsym(h, "sgx_qe_get_target_info");
			get_size = (get_size_fn)dlsym(h, "sgx_qe_get_quote_size");
			get_quote = (get_quote_fn)dlsym(h, "sgx_qe_get_quote");
			if (!get_target || !get_size || !get_quote) {
				rc = say(buf, cap, -ENOSYS, "DCAP quote library %s lacks %s; install Intel's "
					 "libsgx-dcap-ql 1.x or later", SCONE_DCAP_LIBRARY,
					 !get_target ? "sgx_qe_get_target_info"
					 : !get_size ? "sgx_qe_get_quote_size" : "sgx_qe_get_quote");
				dlclose(h);
			} else {
				lib = h;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

long scone_dcap_target(const struct scone_ocall *o)
{
	uint8_t *buf = (uint8_t *)(uintptr_t)o->args[0];
	size_t cap = (size_t)o->args[1];
	if (!buf || cap < sizeof(struct scone_sgx_targetinfo) || cap > SCONE_DCAP_HOST_BUF)
		return -EINVAL;
	long rc = load(buf, cap);
	if (rc)
		return rc;
	struct scone_sgx_targetinfo ti;
	memset(&ti, 0, sizeof ti);
	int q = get_target(&ti);
	if (q)
		return say(buf, cap, -EIO, "the DCAP quote library could not give the quoting enclave's "
			   "target (sgx_qe_get_target_info: quote3_error_t 0x%x); is the AESM/PCCS set up?", q);
	memcpy(buf, &ti, sizeof ti);
	return 0;
}

long scone_dcap_quote(const struct scone_ocall *o)
{
	uint8_t *buf = (uint8_t *)(uintptr_t)o->args[0];
	size_t cap = (size_t)o->args[1];
	if (!buf || cap < sizeof(struct scone_sgx_report) || cap > SCONE_DCAP_HOST_BUF)
		return -EINVAL;
	long rc = load(buf, cap);
	if (rc)
		return rc;
	struct scone_sgx_report report;
	memcpy(&report, buf, sizeof report);
	uint32_t size = 0;
	int q = get_size(&size);
	if (q)
		return say(buf, cap, -EIO, "the DCAP quote library could not size a quote "
			   "(sgx_qe_get_quote_size: quote3_error_t 0x%x)", q);
	if (size < SCONE_DCAP_QUOTE_MIN || size > cap)
		return say(buf, cap, -EFBIG, "the DCAP quote library wants %u bytes for a quote; the "
			   "enclave takes %d to %zu", size, SCONE_DCAP_QUOTE_MIN, cap);
	q = get_quote(&report, size, buf);
	if (q)
		return say(buf, cap, -EIO, "the DCAP quote library did not make a quote "
			   "(sgx_qe_get_quote: quote3_error_t 0x%x)", q);
	return (long)size;
}
