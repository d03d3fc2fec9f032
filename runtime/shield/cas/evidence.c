/*
 * Evidence (evidence.h, scone_cc/cas/PROTOCOL.md §3). SIM: the starter
 * builds the REPORT from what it measured and hands over the SIM key, and
 * the signature is made here (README.md says why). HW: the starter asks
 * Intel's DCAP quote library for the quoting enclave's TARGETINFO, the CPU
 * makes our REPORT for it (EREPORT, SDM Vol. 3D §38.17 and "EREPORT"), and
 * the library turns the REPORT into a quote; we check that the quote's
 * report body is our REPORT's before anyone sees it.
 *
 * The HW path follows the published structures (Intel's sgx_report.h and
 * "SGX ECDSA Quote Library Reference"); it has never run on SGX hardware
 * (none here): README "Attestation" says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scone/cas_protocol.h>
#include <scone/crypto.h>
#include <scone/sgx_report.h>

#include "../shield.h"
#include "evidence.h"

#define SIM_HOST_BUF 16384u           /* the SIM quote's host buffer */

static int say(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

int __scone_evidence_kind(void)
{
	return __scone_rt.sim ? SCONE_EVIDENCE_SIM : SCONE_EVIDENCE_DCAP;
}

const char *__scone_evidence_name(int kind)
{
	return kind == SCONE_EVIDENCE_SIM ? "sim" : "dcap";
}

int __scone_sig_der_to_rs(const uint8_t *d, size_t n, uint8_t out[64])
{
	size_t i = 2;
	if (n < 8 || d[0] != 0x30 || d[1] != n - 2)
		return -1;
	for (int k = 0; k < 2; k++) {
		if (i + 2 > n || d[i] != 0x02)
			return -1;
		size_t l = d[i + 1];
		const uint8_t *v = d + i + 2;
		if (i + 2 + l > n || !l)
			return -1;
		i += 2 + l;
		while (l > 32 && !*v) {
			v++;
			l--;
		}
		if (l > 32)
			return -1;
		memset(out + 32 * k, 0, 32 - l);
		memcpy(out + 32 * k + 32 - l, v, l);
	}
	return i == n ? 0 : -1;
}

/* DER INTEGERs: minimal, positive (a leading zero before a high bit). */
size_t __scone_sig_rs_to_der(const uint8_t rs[64], uint8_t out[72])
{
	size_t o = 2;
	for (int k = 0; k < 2; k++) {
		const uint8_t *v = rs + 32 * k;
		size_t l = 32;
		while (l > 1 && !*v) {
			v++;
			l--;
		}
		int pad = *v >> 7;
		out[o++] = 0x02;
		out[o++] = (uint8_t)(l + (size_t)pad);
		if (pad)
			out[o++] = 0;
		memcpy(out + o, v, l);
		o += l;
	}
	out[0] = 0x30;
	out[1] = (uint8_t)(o - 2);
	return o;
}

/* A host buffer: evidence crosses to the starter only through one. */
static uint8_t *host_buf(size_t n)
{
	long page = __scone_ocall(9 /* mmap */, 0, (long)n, 3, 0x22, -1, 0);
	return page > 0 && __scone_host_range((uint64_t)page, n) ? (uint8_t *)page : NULL;
}

static void host_free(uint8_t *p, size_t n)
{
	memset(p, 0, n);
	__scone_ocall(11 /* munmap */, (long)p, (long)n, 0, 0, 0, 0);
}

/* The starter's REPORT for rd and the SIM key (PEM, malloc'd); makes the
 * key on this machine's first use. */
static int sim_report(const uint8_t rd[64], struct scone_sgx_report *rep, char **pem, size_t *pem_len,
		      char *err, size_t errlen)
{
	uint8_t *host = host_buf(SIM_HOST_BUF);
	if (!host)
		return say(err, errlen, "no host memory for the SIM quote");
	memcpy(host, rd, 64);
	long n = __scone_ocall(SCONE_OCALL_SIM_QUOTE, (long)host, SIM_HOST_BUF, 0, 0, 0, 0);
	if (n == -ENOENT) {
		/* First use on this machine: the SIM "CPU" key, made here (PROTOCOL.md §3.1). */
		scone_crypto_key *nk = __scone_crypto_ec_generate();
		size_t pl;
		if (!nk || __scone_crypto_key_private_pem(nk, (char *)host, SIM_HOST_BUF, &pl)) {
			host_free(host, SIM_HOST_BUF);
			return say(err, errlen, "making the SIM attestation key failed: %s", __scone_crypto_error());
		}
		__scone_crypto_key_free(nk);
		long rc = __scone_ocall(SCONE_OCALL_SIM_KEY_CREATE, (long)host, (long)pl, 0, 0, 0, 0);
		memset(host, 0, SIM_HOST_BUF);
		if (rc) {
			host_free(host, SIM_HOST_BUF);
			return say(err, errlen, "cannot store the new SIM attestation key (%s under the scone "
				   "config dir): error %ld", SCONE_SIM_KEY_FILE, -rc);
		}
		__scone_log(SCONE_LOG_WARN, "scone-cas: made this machine's SIM attestation key (%s under the "
			    "scone config dir); a CAS accepts its evidence only after `scone-cas trust-sim-key`",
			    SCONE_SIM_KEY_FILE);
		memcpy(host, rd, 64);
		n = __scone_ocall(SCONE_OCALL_SIM_QUOTE, (long)host, SIM_HOST_BUF, 0, 0, 0, 0);
	}
	if (n <= SCONE_SIM_REPORT_SIZE || n > (long)SIM_HOST_BUF) {
		host_free(host, SIM_HOST_BUF);
		return say(err, errlen, n == -EPERM ? "the starter does not run the SIM backend, but START said it "
			   "did; no SIM evidence" : "the SIM quote failed (error %ld)", n < 0 ? -n : n);
	}
	*pem_len = (size_t)n - SCONE_SIM_REPORT_SIZE;
	if (!(*pem = malloc(*pem_len))) {
		host_free(host, SIM_HOST_BUF);
		return say(err, errlen, "out of enclave memory");
	}
	memcpy(rep, host, sizeof *rep);
	memcpy(*pem, host + SCONE_SIM_REPORT_SIZE, *pem_len);
	host_free(host, SIM_HOST_BUF);
	if (memcmp(rep->reportdata, rd, 64)) {
		free(*pem);
		return say(err, errlen, "the SIM quote does not carry this enclave's REPORTDATA");
	}
	return 0;
}

static scone_crypto_key *sim_key(const char *pem, size_t len, uint8_t point[65], char *err, size_t errlen)
{
	scone_crypto_key *k = __scone_crypto_key_parse(pem, len);
	uint8_t spki[128];
	size_t spki_len;
	if (!k) {
		say(err, errlen, "the SIM attestation key (%s) is not a P-256 private key", SCONE_SIM_KEY_FILE);
		return NULL;
	}
	/* A P-256 SPKI ends with the uncompressed point 04 || X || Y. */
	if (__scone_crypto_key_public_der(k, spki, sizeof spki, &spki_len) || spki_len != 91 ||
	    spki[spki_len - 65] != 4) {
		__scone_crypto_key_free(k);
		say(err, errlen, "the SIM attestation key is not a P-256 key");
		return NULL;
	}
	memcpy(point, spki + spki_len - 65, 65);
	return k;
}

/* SIM evidence (PROTOCOL.md §3.1): 573 bytes, signed here with the SIM key. */
static int sim_evidence(const uint8_t rd[64], uint8_t *ev, char *err, size_t errlen)
{
	struct scone_sgx_report rep;
	char *pem;
	size_t pem_len, der_len;
	uint8_t der[80];
	if (sim_report(rd, &rep, &pem, &pem_len, err, errlen))
		return -1;
	memset(ev, 0, SCONE_SIM_SIZE);
	scone_crypto_key *k = sim_key(pem, pem_len, ev + SCONE_SIM_KEY_OFFSET, err, errlen);
	memset(pem, 0, pem_len);
	free(pem);
	if (!k)
		return -1;
	memcpy(ev, SCONE_SIM_MAGIC, 8);
	ev[8] = SCONE_SIM_VERSION;
	memcpy(ev + SCONE_SIM_REPORT_OFFSET, &rep, sizeof rep);
	int bad = __scone_crypto_ecdsa_sign(k, ev, SCONE_SIM_SIG_OFFSET, der, sizeof der, &der_len) ||
		__scone_sig_der_to_rs(der, der_len, ev + SCONE_SIM_SIG_OFFSET);
	__scone_crypto_key_free(k);
	return bad ? say(err, errlen, "signing the SIM evidence failed: %s", __scone_crypto_error()) : 0;
}

int __scone_evidence_sim_key(uint8_t point[65], char *err, size_t errlen)
{
	static uint8_t cached[65];
	static int have;
	if (__atomic_load_n(&have, __ATOMIC_ACQUIRE)) {
		memcpy(point, cached, 65);
		return 0;
	}
	if (!__scone_rt.sim)
		return say(err, errlen, "this enclave runs on SGX hardware, where no SIM attestation key exists");
	struct scone_sgx_report rep;
	uint8_t rd[64] = { 0 };
	char *pem;
	size_t pem_len;
	if (sim_report(rd, &rep, &pem, &pem_len, err, errlen))
		return -1;
	scone_crypto_key *k = sim_key(pem, pem_len, cached, err, errlen);
	memset(pem, 0, pem_len);
	free(pem);
	if (!k)
		return -1;
	__scone_crypto_key_free(k);
	__atomic_store_n(&have, 1, __ATOMIC_RELEASE);
	memcpy(point, cached, 65);
	return 0;
}

/* A sentence the host wrote: shown only if printable, and bounded. */
static const char *host_sentence(const uint8_t *host, char *out, size_t cap)
{
	size_t i = 0;
	for (; i + 1 < cap && host[i]; i++)
		out[i] = host[i] >= 0x20 && host[i] < 0x7f ? (char)host[i] : '?';
	out[i] = 0;
	return i ? out : "the starter gave no reason";
}

/* EREPORT (ENCLU leaf 0): RBX = TARGETINFO, RCX = REPORTDATA, RDX = the
 * REPORT written; operands aligned as sgx_report.h says. */
static void ereport(const struct scone_sgx_targetinfo *ti, const uint8_t *rd, struct scone_sgx_report *out)
{
	__asm__ __volatile__("enclu" : : "a"(0), "b"(ti), "c"(rd), "d"(out) : "memory");
}

/* HW evidence (PROTOCOL.md §3.2): a DCAP quote of our own REPORT. */
static int dcap_evidence(const uint8_t rd[64], uint8_t **out, size_t *len, char *err, size_t errlen)
{
	static struct scone_sgx_targetinfo ti __attribute__((aligned(SCONE_TARGETINFO_ALIGN)));
	static struct scone_sgx_report rep __attribute__((aligned(SCONE_REPORT_ALIGN)));
	static uint8_t data[64] __attribute__((aligned(SCONE_REPORTDATA_ALIGN)));
	static int busy;
	char why[300];
	uint8_t *host = host_buf(SCONE_DCAP_HOST_BUF);
	if (!host)
		return say(err, errlen, "no host memory for the DCAP quote");
	long n = __scone_ocall(SCONE_OCALL_QE_TARGET, (long)host, SCONE_DCAP_HOST_BUF, 0, 0, 0, 0);
	if (n) {
		say(err, errlen, "%s", n == -EINVAL ? "the starter refused the quote buffer"
		    : host_sentence(host, why, sizeof why));
		host_free(host, SCONE_DCAP_HOST_BUF);
		return -1;
	}
	while (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		;                     /* one EREPORT at a time: the operands are static (aligned) */
	memcpy(&ti, host, sizeof ti);
	memcpy(data, rd, 64);
	ereport(&ti, data, &rep);
	struct scone_sgx_report mine = rep;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	memcpy(host, &mine, sizeof mine);
	n = __scone_ocall(SCONE_OCALL_DCAP_QUOTE, (long)host, SCONE_DCAP_HOST_BUF, 0, 0, 0, 0);
	if (n < SCONE_DCAP_QUOTE_MIN || n > (long)SCONE_DCAP_HOST_BUF) {
		say(err, errlen, "%s", n >= 0 ? "the starter returned a quote of an impossible size"
		    : host_sentence(host, why, sizeof why));
		host_free(host, SCONE_DCAP_HOST_BUF);
		return -1;
	}
	/* Copied in once, then checked: the host may rewrite its buffer. */
	if (!(*out = malloc((size_t)n))) {
		host_free(host, SCONE_DCAP_HOST_BUF);
		return say(err, errlen, "out of enclave memory");
	}
	memcpy(*out, host, (size_t)n);
	host_free(host, SCONE_DCAP_HOST_BUF);
	if (memcmp(*out + 48, &mine, 384)) {
		free(*out);
		return say(err, errlen, "the quote the starter returned is not for this enclave's REPORT");
	}
	*len = (size_t)n;
	return 0;
}

int __scone_evidence(const uint8_t rd[64], uint8_t **out, size_t *len, int *kind, char *err, size_t errlen)
{
	*kind = __scone_evidence_kind();
	if (*kind == SCONE_EVIDENCE_DCAP)
		return dcap_evidence(rd, out, len, err, errlen);
	if (!(*out = malloc(SCONE_SIM_SIZE)))
		return say(err, errlen, "out of enclave memory");
	if (sim_evidence(rd, *out, err, errlen)) {
		free(*out);
		return -1;
	}
	*len = SCONE_SIM_SIZE;
	return 0;
}
