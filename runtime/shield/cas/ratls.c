/*
 * RA-TLS (ratls.h): attested TLS between enclaves without a CAS, in the
 * format of scone_cc.cas.ratls, which follows Gramine's RA-TLS: the
 * evidence is the raw value of a non-critical extension, OID
 * 1.2.840.113741.1337.6 for a DCAP quote (Intel's and Gramine's quote
 * OID, so Gramine's verifiers read our certificates), a scone OID for SIM
 * evidence (which must never pass for a quote); REPORTDATA binds the
 * certificate's key. No nonce: freshness is the certificate's validity.
 *
 * A verifier here checks SIM evidence against this machine's SIM key (in
 * SIM; on hardware no SIM evidence is accepted), and a DCAP quote as
 * scone_cc.cas.dcap does (PROTOCOL.md §3.2): every signature, the QE
 * report's binding of the attestation key, the PCK chain link by link to
 * the Intel SGX Root CA built in (intel_root.h). Intel's collateral (TCB
 * status, QE identity, revocation) is not checked, as in the CAS.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scone/cas_protocol.h>
#include <scone/crypto.h>

#include "../shield.h"
#include "evidence.h"
#include "intel_root.h"
#include "ratls.h"

#define CERT_DAYS 30                 /* the certificate lives as long as the server, at most this */
#define EXT_MAX (64u * 1024)

struct spec {
	uint8_t mrenclave[32], mrsigner[32];
	int has_mrenclave, has_mrsigner, has_prodid, sim, debug;
	unsigned prodid, min_svn;
};

static int say(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

static void hex16(const uint8_t *b, char out[17])
{
	static const char d[] = "0123456789abcdef";
	for (int i = 0; i < 8; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[16] = 0;
}

static int unhex32(const char *s, size_t n, uint8_t out[32])
{
	if (n != 64)
		return -1;
	for (size_t i = 0; i < 64; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

static int number(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	if (!n || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

static int parse(const char *text, struct spec *sp, char *why, size_t cap)
{
	memset(sp, 0, sizeof *sp);
	for (const char *p = text; *p;) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t k = eq ? (size_t)(eq - p) : n, vl = eq ? n - k - 1 : 0;
		const char *v = eq ? eq + 1 : NULL;
		int bad = 0;
		if (k == 9 && !memcmp(p, "mrenclave", 9))
			bad = !v || unhex32(v, vl, sp->mrenclave) || (sp->has_mrenclave = 1, 0);
		else if (k == 8 && !memcmp(p, "mrsigner", 8))
			bad = !v || unhex32(v, vl, sp->mrsigner) || (sp->has_mrsigner = 1, 0);
		else if (k == 9 && !memcmp(p, "isvprodid", 9))
			bad = !v || number(v, vl, &sp->prodid) || (sp->has_prodid = 1, 0);
		else if (k == 10 && !memcmp(p, "min_isvsvn", 10))
			bad = !v || number(v, vl, &sp->min_svn);
		else if (n == 3 && !memcmp(p, "sim", 3))
			sp->sim = 1;
		else if (n == 5 && !memcmp(p, "debug", 5))
			sp->debug = 1;
		else
			bad = 1;
		if (bad)
			return say(why, cap, "RA-TLS requirement %.80s: item %.*s is not mrenclave=HEX, mrsigner=HEX, "
				   "isvprodid=N, min_isvsvn=N, sim or debug", text, (int)(n > 80 ? 80 : n), p);
		p += n + (end ? 1 : 0);
	}
	if (sp->has_mrenclave == sp->has_mrsigner)
		return say(why, cap, "RA-TLS requirement %.80s: give one of mrenclave= or mrsigner=", text);
	return 0;
}

/* The SPKI DER of a P-256 point: this 26-byte prefix, then 04||X||Y. */
static const uint8_t p256_prefix[26] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
	0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };

static int rs_verify(const uint8_t *spki, size_t spki_len, const uint8_t *msg, size_t n, const uint8_t rs[64])
{
	uint8_t der[72];
	size_t dl = __scone_sig_rs_to_der(rs, der);
	return __scone_crypto_ecdsa_verify(spki, spki_len, msg, n, der, dl);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* SIM evidence (PROTOCOL.md §3.1) signed by this machine's SIM key: the
 * REPORT, or -1 with why. */
static int sim_check(const uint8_t *ev, size_t len, struct scone_sgx_report *rep, char *why, size_t cap)
{
	uint8_t mine[65], spki[91];
	char err[300];
	if (len != SCONE_SIM_SIZE || memcmp(ev, SCONE_SIM_MAGIC, 8) || ev[8] != SCONE_SIM_VERSION || ev[9] ||
	    ev[10] || ev[11])
		return say(why, cap, "peer evidence: not SIM evidence version %d of %d bytes", SCONE_SIM_VERSION,
			   SCONE_SIM_SIZE);
	if (__scone_evidence_sim_key(mine, err, sizeof err))
		return say(why, cap, "peer presents SIM evidence, which cannot be checked here: %s", err);
	if (memcmp(ev + SCONE_SIM_KEY_OFFSET, mine, 65))
		return say(why, cap, "peer evidence: signed by a SIM key that is not this machine's");
	memcpy(spki, p256_prefix, sizeof p256_prefix);
	memcpy(spki + sizeof p256_prefix, mine, 65);
	if (rs_verify(spki, sizeof spki, ev, SCONE_SIM_SIG_OFFSET, ev + SCONE_SIM_SIG_OFFSET))
		return say(why, cap, "peer evidence: the SIM signature does not verify");
	memcpy(rep, ev + SCONE_SIM_REPORT_OFFSET, sizeof *rep);
	return 0;
}

/* An SGX ECDSA quote v3 (PROTOCOL.md §3.2, "SGX ECDSA Quote Library
 * Reference"): the REPORT body, or -1 with why. */
static int dcap_check(const uint8_t *q, size_t len, struct scone_sgx_report *rep, char *why, size_t cap)
{
	enum { HDR = 48, BODY = 384, SIG = HDR + BODY + 4 };
	uint8_t att[91], h[32], pck[256];
	size_t pck_len;
	if (len < SIG + 578)
		return say(why, cap, "peer evidence: a DCAP quote of %zu bytes is too short", len);
	if (le16(q) != 3 || le16(q + 2) != 2)
		return say(why, cap, "peer evidence: DCAP quote version %u, key type %u; only 3 and 2 (ECDSA P-256) "
			   "are understood", le16(q), le16(q + 2));
	const uint8_t *sig = q + SIG;
	size_t sig_len = len - SIG;
	if (le32(q + HDR + BODY) != sig_len)
		return say(why, cap, "peer evidence: the DCAP quote's signature data length is wrong");
	size_t auth = le16(sig + 576), at = 578 + auth;
	if (sig_len < at + 6 || le32(sig + at + 2) != sig_len - at - 6)
		return say(why, cap, "peer evidence: the DCAP quote's certification data runs past its end");
	if (le16(sig + at) != 5)
		return say(why, cap, "peer evidence: DCAP certification data type %u; only 5 (PCK chain) is checked",
			   le16(sig + at));
	memcpy(att, p256_prefix, sizeof p256_prefix);
	att[26] = 4;
	memcpy(att + 27, sig + 64, 64);
	if (rs_verify(att, sizeof att, q, HDR + BODY, sig))
		return say(why, cap, "peer evidence: the DCAP quote's enclave report signature does not verify with "
			   "its attestation key (tampered quote)");
	scone_sha256 *s = __scone_crypto_sha256_new();
	if (!s || __scone_crypto_sha256_update(s, sig + 64, 64) || __scone_crypto_sha256_update(s, sig + 578, auth) ||
	    __scone_crypto_sha256_final(s, h))
		return say(why, cap, "SHA-256 failed");
	static const uint8_t zero[32];
	if (memcmp(sig + 128 + 320, h, 32) || memcmp(sig + 128 + 352, zero, 32))
		return say(why, cap, "peer evidence: the DCAP quote's QE report does not bind its attestation key");
	const char *pem = (const char *)sig + at + 6;
	size_t pem_len = sig_len - at - 6;
	while (pem_len && !pem[pem_len - 1])
		pem_len--;
	if (__scone_crypto_x509_chain_leaf(pem, pem_len, intel_sgx_root_ca, sizeof intel_sgx_root_ca, pck,
					   sizeof pck, &pck_len))
		return say(why, cap, "peer evidence: %s", __scone_crypto_error());
	if (rs_verify(pck, pck_len, sig + 128, 384, sig + 512))
		return say(why, cap, "peer evidence: the DCAP quote's QE report signature does not verify with the "
			   "PCK certificate");
	memset(rep, 0, sizeof *rep);
	memcpy(rep, q + HDR, BODY);
	return 0;
}

int __scone_ratls_check(const uint8_t *der, size_t len, void *arg, char *why, size_t cap)
{
	static const char *const oids[] = { SCONE_RATLS_QUOTE_OID, SCONE_RATLS_SIM_OID };
	const struct spec *sp = arg;
	uint8_t spki[256], rd[64] = { 0 };
	size_t spki_len, ext_len;
	int which;
	struct scone_sgx_report rep;
	uint8_t *ext = malloc(EXT_MAX);
	if (!ext)
		return say(why, cap, "out of enclave memory");
	int rc = __scone_crypto_x509_inspect(der, len, oids, 2, &which, ext, EXT_MAX, &ext_len, spki, sizeof spki,
					     &spki_len);
	if (rc) {
		free(ext);
		return say(why, cap, "%s", rc == SCONE_CRYPTO_ESPACE ? "peer evidence larger than 64 KiB"
			   : __scone_crypto_error());
	}
	if (which < 0) {
		free(ext);
		return say(why, cap, "peer certificate carries no evidence (extension %s or %s)", SCONE_RATLS_QUOTE_OID,
			   SCONE_RATLS_SIM_OID);
	}
	if (which == 1 && !sp->sim) {
		free(ext);
		return say(why, cap, "peer presents SIM evidence, which this policy does not accept (add sim)");
	}
	rc = which == 0 ? dcap_check(ext, ext_len, &rep, why, cap) : sim_check(ext, ext_len, &rep, why, cap);
	free(ext);
	if (rc)
		return -1;
	if (__scone_crypto_sha256(spki, spki_len, rd) || memcmp(rep.reportdata, rd, 64))
		return say(why, cap, "peer evidence: REPORTDATA does not bind the certificate's key (evidence made "
			   "for another key)");
	char got[17], want[17];
	if ((rep.attributes & 2) && !sp->debug)
		return say(why, cap, "peer is a debug enclave (ATTRIBUTES.DEBUG set), not accepted here (add debug)");
	if (sp->has_mrenclave && memcmp(rep.mrenclave, sp->mrenclave, 32)) {
		hex16(rep.mrenclave, got);
		hex16(sp->mrenclave, want);
		return say(why, cap, "peer MRENCLAVE %s\xe2\x80\xa6 is not the required %s\xe2\x80\xa6", got, want);
	}
	if (sp->has_mrsigner) {
		if (memcmp(rep.mrsigner, sp->mrsigner, 32)) {
			hex16(rep.mrsigner, got);
			hex16(sp->mrsigner, want);
			return say(why, cap, "peer MRSIGNER %s\xe2\x80\xa6 is not the required %s\xe2\x80\xa6", got, want);
		}
		if (sp->has_prodid && rep.isvprodid != sp->prodid)
			return say(why, cap, "peer ISVPRODID %u is not the required %u", rep.isvprodid, sp->prodid);
		if (rep.isvsvn < sp->min_svn)
			return say(why, cap, "peer ISVSVN %u is below the required %u", rep.isvsvn, sp->min_svn);
	}
	return 0;
}

int __scone_ratls_require(scone_tls_config *cfg, const char *text, char *why, size_t cap)
{
	struct spec *sp = malloc(sizeof *sp);      /* lives as long as cfg: once per endpoint */
	if (!sp)
		return say(why, cap, "out of enclave memory");
	if (parse(text, sp, why, cap)) {
		free(sp);
		return -1;
	}
	if (__scone_tls_config_peer_check(cfg, __scone_ratls_check, sp)) {
		free(sp);
		return say(why, cap, "%s", __scone_crypto_error());
	}
	return 0;
}

int __scone_ratls_identity(scone_tls_config *cfg, char *why, size_t cap)
{
	uint8_t spki[128], rd[64] = { 0 }, *ev, *cert = NULL;
	size_t spki_len, ev_len, cert_len;
	int kind, rc = -1;
	scone_crypto_key *k = __scone_crypto_ec_generate();
	if (!k || __scone_crypto_key_public_der(k, spki, sizeof spki, &spki_len) ||
	    __scone_crypto_sha256(spki, spki_len, rd)) {
		__scone_crypto_key_free(k);
		return say(why, cap, "making the RA-TLS key failed: %s", __scone_crypto_error());
	}
	if (__scone_evidence(rd, &ev, &ev_len, &kind, why, cap)) {
		__scone_crypto_key_free(k);
		return -1;
	}
	const char *oid = kind == SCONE_EVIDENCE_SIM ? SCONE_RATLS_SIM_OID : SCONE_RATLS_QUOTE_OID;
	/* One call: each signing makes another certificate, of another length. */
	size_t cap_cert = ev_len + 4096;
	if (!(cert = malloc(cap_cert)) ||
	    __scone_crypto_x509_self_signed(k, "scone RA-TLS", CERT_DAYS, oid, ev, ev_len, cert, cap_cert,
					    &cert_len) ||
	    __scone_tls_config_identity(cfg, cert, cert_len, k))
		say(why, cap, "making the RA-TLS certificate failed: %s", __scone_crypto_error());
	else
		rc = 0;
	free(cert);
	free(ev);
	__scone_crypto_key_free(k);
	return rc;
}
