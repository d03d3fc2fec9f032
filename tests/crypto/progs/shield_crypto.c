/*
 * The shield crypto API inside an enclave: known-answer tests and the
 * outputs the Python side checks with an independent implementation.
 *   kat                          NIST/RFC vectors (below, with their sources)
 *   kdf KEY LABEL CONTEXT LEN    hex in, derived key out (checked outside)
 *   ecdsa MSG                    SPKI, signature, certificate, CSR (hex lines)
 *   threads                      the API from 8 threads at once
 *   tls-pair                     TLS 1.3 client and server over a BIO pair
 *   tls-serve CERT KEY [CA]      accept one TCP client on 127.0.0.1, echo a line
 *   bench SECONDS [BYTES]        AES-128-GCM MB/s, one call per BYTES (16 KiB)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <scone/crypto.h>

static int failures;

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;

	if (n > cap) {
		fprintf(stderr, "hex too long\n");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
	return n;
}

static void puthex(const char *tag, const uint8_t *p, size_t n)
{
	printf("%s ", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static void check(const char *name, int ok)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	failures += !ok;
}

static int same_hex(const uint8_t *p, size_t n, const char *want)
{
	uint8_t w[512];

	return unhex(want, w, sizeof w) == n && !memcmp(p, w, n);
}

/* NIST CAVP gcmEncryptExtIV128.rsp (Keylen 128, IVlen 96, Taglen 128): CT || Tag. */
static const struct {
	const char *key, *iv, *pt, *aad, *ct_tag;
} gcm_vectors[] = {
	/* [PTlen = 0][AADlen = 0] Count = 0 */
	{"11754cd72aec309bf52f7687212e8957", "3c819d9a9bed087615030b65", "", "",
	 "250327c674aaf477aef2675748cf6971"},
	/* [PTlen = 0][AADlen = 128] Count = 0 */
	{"77be63708971c4e240d1cb79e8d77feb", "e0e00f19fed7ba0136a797f3", "",
	 "7a43ec1d9c0a5a78a0b16533a6213cab", "209fcc8d3675ed938e9c7166709dd946"},
	/* [PTlen = 128][AADlen = 0] Count = 0 */
	{"7fddb57453c241d03efbed3ac44e371c", "ee283a3fc75575e33efd4887",
	 "d5de42b461646c255c87bd2962d3b9a2", "",
	 "2ccda4a5415cb91e135c2a0f78c9b2fdb36d1df9b9d5e596f83e8b7f52971cb3"},
	/* [PTlen = 408][AADlen = 160] Count = 0 */
	{"fe47fcce5fc32665d2ae399e4eec72ba", "5adb9609dbaeb58cbd6e7275",
	 "7c0e88c88899a779228465074797cd4c2e1498d259b54390b85e3eef1c02df60e743f1b840382c4bccaf3bafb4ca8429bea063",
	 "88319d6e1d3ffa5f987199166c8a9b56c2aeba5a",
	 "98f4826f05a265e6dd2be82db241c0fbbbf9ffb1c173aa83964b7cf5393043736365253ddbc5db8778371495da76d269e5db3e291ef1982e4defedaa2249f898556b47"},
	/* [PTlen = 104][AADlen = 0] Count = 0 */
	{"fe9bb47deb3a61e423c2231841cfd1fb", "4d328eb776f500a2f7fb47aa", "f1cc3818e421876bb6b8bbd6c9", "",
	 "b88c5c1977b35b517b0aeae96743fd4727fe5cdb4b5b42818dea7ef8c9"},
	/* AES-256: The Galois/Counter Mode of Operation (McGrew, Viega; the GCM
	 * specification submitted to NIST), Test Case 16. */
	{"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	 "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void kat_gcm(void)
{
	for (size_t i = 0; i < sizeof gcm_vectors / sizeof gcm_vectors[0]; i++) {
		uint8_t key[32], iv[12], pt[128], aad[64], want[160], out[128], back[128], tag[16];
		size_t kl = unhex(gcm_vectors[i].key, key, sizeof key);
		size_t ivl = unhex(gcm_vectors[i].iv, iv, sizeof iv);
		size_t pl = unhex(gcm_vectors[i].pt, pt, sizeof pt);
		size_t al = unhex(gcm_vectors[i].aad, aad, sizeof aad);
		size_t wl = unhex(gcm_vectors[i].ct_tag, want, sizeof want);
		char name[64];
		int rc;

		rc = __scone_crypto_aes_gcm_encrypt(key, kl, iv, ivl, aad, al, pt, pl, out, tag);
		snprintf(name, sizeof name, "aes-gcm encrypt vector %zu", i);
		check(name, rc == 0 && wl == pl + 16 && !memcmp(out, want, pl)
		            && !memcmp(tag, want + pl, 16));
		rc = __scone_crypto_aes_gcm_decrypt(key, kl, iv, ivl, aad, al, want, pl, back, want + pl);
		snprintf(name, sizeof name, "aes-gcm decrypt vector %zu", i);
		check(name, rc == 0 && !memcmp(back, pt, pl));
		want[pl] ^= 1; /* a flipped tag bit: refused, and no plaintext leaves */
		memset(back, 0xaa, sizeof back);
		rc = __scone_crypto_aes_gcm_decrypt(key, kl, iv, ivl, aad, al, want, pl, back, want + pl);
		snprintf(name, sizeof name, "aes-gcm bad tag refused %zu", i);
		check(name, rc == SCONE_CRYPTO_EAUTH && (pl == 0 || (back[0] == 0 && back[pl - 1] == 0)));
	}
	uint8_t key[16] = {0}, iv[12] = {0}, tag[16];
	check("aes-gcm refuses a 24-byte key",
	      __scone_crypto_aes_gcm_encrypt(key, 24, iv, 12, NULL, 0, NULL, 0, NULL, tag)
	      == SCONE_CRYPTO_EINVAL);
}

/* RFC 4493 section 4 (= SP 800-38B's AES-128 examples). */
static void kat_cmac(void)
{
	static const char *key = "2b7e151628aed2a6abf7158809cf4f3c";
	static const char *msg = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	                         "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
	static const struct { size_t len; const char *mac; } ex[] = {
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	};
	uint8_t k[16], m[64], mac[16];

	unhex(key, k, sizeof k);
	unhex(msg, m, sizeof m);
	for (size_t i = 0; i < 4; i++) {
		char name[48];

		snprintf(name, sizeof name, "aes-cmac rfc4493 example %zu", i + 1);
		check(name, __scone_crypto_aes_cmac(k, 16, m, ex[i].len, mac) == 0
		            && same_hex(mac, 16, ex[i].mac));
	}
}

static void kat_sha256_hkdf(void)
{
	uint8_t d[32], okm[42], ikm[22];
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	scone_sha256 *h;

	/* FIPS 180-2 appendix B.1 and B.2. */
	check("sha256 fips180-2 abc", __scone_crypto_sha256("abc", 3, d) == 0
	      && same_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	h = __scone_crypto_sha256_new();
	check("sha256 incremental fips180-2 two blocks", h
	      && __scone_crypto_sha256_update(h, two, 20) == 0
	      && __scone_crypto_sha256_update(h, two + 20, strlen(two) - 20) == 0
	      && __scone_crypto_sha256_final(h, d) == 0
	      && same_hex(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	/* RFC 5869 appendix A.1. */
	uint8_t salt[13], info[10];
	memset(ikm, 0x0b, sizeof ikm);
	unhex("000102030405060708090a0b0c", salt, sizeof salt);
	unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
	check("hkdf-sha256 rfc5869 a.1",
	      __scone_crypto_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42) == 0
	      && same_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	                           "34007208d5b887185865"));
}

/* NIST CAVP KDFCTR_gen.rsp, [PRF=CMAC_AES128][CTRLOCATION=BEFORE_FIXED][RLEN=32_BITS], COUNT=0. */
static void kat_kbkdf(void)
{
	uint8_t ki[16], fixed[60], ko[16];

	unhex("c10b152e8c97b77e18704e0f0bd38305", ki, sizeof ki);
	unhex("98cd4cbbbebe15d17dc86e6dbad800a2dcbd64f7c7ad0e78e9cf94ffdba89d03"
	      "e97eadf6c4f7b806caf52aa38f09d0eb71d71f497bcc6906b48d36c4", fixed, sizeof fixed);
	check("kdf ctr cmac-aes128 cavp count 0",
	      __scone_crypto_kdf_ctr_cmac_fixed(ki, 16, fixed, 60, ko, 16) == 0
	      && same_hex(ko, 16, "26faf61908ad9ee881b8305c221db53f"));
}

static void kat_random_ec(void)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0}, s1[32], s2[32], spki1[128], spki2[128];
	uint8_t sig[80];
	size_t l1, l2, sl;
	scone_crypto_key *k1, *k2;

	check("random bytes", __scone_crypto_random(a, 32) == 0 && __scone_crypto_random(b, 32) == 0
	      && memcmp(a, b, 32) && memcmp(a, zero, 32));
	k1 = __scone_crypto_ec_generate();
	k2 = __scone_crypto_ec_generate();
	check("ec p-256 keys", k1 && k2
	      && __scone_crypto_key_public_der(k1, spki1, sizeof spki1, &l1) == 0
	      && __scone_crypto_key_public_der(k2, spki2, sizeof spki2, &l2) == 0 && l1 == 91);
	check("ecdh both ways agree", __scone_crypto_ecdh(k1, spki2, l2, s1) == 0
	      && __scone_crypto_ecdh(k2, spki1, l1, s2) == 0 && !memcmp(s1, s2, 32));
	check("ecdsa sign, verify inside", __scone_crypto_ecdsa_sign(k1, "msg", 3, sig, sizeof sig, &sl) == 0
	      && __scone_crypto_ecdsa_verify(spki1, l1, "msg", 3, sig, sl) == 0
	      && __scone_crypto_ecdsa_verify(spki2, l2, "msg", 3, sig, sl) == SCONE_CRYPTO_EAUTH
	      && __scone_crypto_ecdsa_verify(spki1, l1, "msh", 3, sig, sl) == SCONE_CRYPTO_EAUTH);
	__scone_crypto_key_free(k1);
	__scone_crypto_key_free(k2);
}

static int kat(void)
{
	kat_gcm();
	kat_cmac();
	kat_sha256_hkdf();
	kat_kbkdf();
	kat_random_ec();
	printf("%d failures\n", failures);
	return failures != 0;
}

static int kdf(char **argv)
{
	uint8_t key[32], label[256], ctx[256], out[256];
	size_t kl = unhex(argv[0], key, sizeof key), ll = unhex(argv[1], label, sizeof label);
	size_t cl = unhex(argv[2], ctx, sizeof ctx), ol = (size_t)atoi(argv[3]);

	if (ol > sizeof out || __scone_crypto_kdf_ctr_cmac(key, kl, label, ll, ctx, cl, out, ol))
		return 1;
	puthex("kdf", out, ol);
	return 0;
}

static int ecdsa(char **argv)
{
	static uint8_t msg[1024], spki[128], sig[80], cert[2048], csr[1024];
	size_t ml = unhex(argv[0], msg, sizeof msg), pl, sl, cl, rl;
	scone_crypto_key *k = __scone_crypto_ec_generate();
	static const uint8_t evidence[] = {0x04, 0x03, 'q', 'o', 't'}; /* OCTET STRING "qot" */

	if (!k || __scone_crypto_key_public_der(k, spki, sizeof spki, &pl)
	    || __scone_crypto_ecdsa_sign(k, msg, ml, sig, sizeof sig, &sl)
	    || __scone_crypto_x509_self_signed(k, "enclave.test", 30, "1.3.6.1.4.1.99999.1",
	                                       evidence, sizeof evidence, cert, sizeof cert, &cl)
	    || __scone_crypto_x509_csr(k, "enclave.test", csr, sizeof csr, &rl)) {
		fprintf(stderr, "ecdsa: %s\n", __scone_crypto_error());
		return 1;
	}
	puthex("spki", spki, pl);
	puthex("sig", sig, sl);
	puthex("cert", cert, cl);
	puthex("csr", csr, rl);
	__scone_crypto_key_free(k);
	return 0;
}

/* Move ciphertext from a's network side to b's. */
static void pump(scone_tls *a, scone_tls *b)
{
	uint8_t buf[4096];
	ssize_t n, fed;

	while ((n = __scone_tls_drain(a, buf, sizeof buf)) > 0)
		for (ssize_t off = 0; off < n; off += fed)
			if ((fed = __scone_tls_feed(b, buf + off, (size_t)(n - off))) <= 0) {
				fprintf(stderr, "feed: %zd\n", fed);
				exit(1);
			}
}

static int tls_pair(void)
{
	static uint8_t cert[2048], spki[128], big[100000], got[100000];
	uint8_t pin[32], want_pin[32], buf[64];
	size_t cl, pl, have = 0;
	scone_crypto_key *k = __scone_crypto_ec_generate();
	scone_tls_config *scfg = __scone_tls_config_new(1), *ccfg = __scone_tls_config_new(0);
	scone_tls *s, *c;
	int i, cs = SCONE_CRYPTO_EAGAIN, ss = SCONE_CRYPTO_EAGAIN;
	ssize_t n;

	if (!k || !scfg || !ccfg
	    || __scone_crypto_x509_self_signed(k, "server.test", 1, NULL, NULL, 0, cert, sizeof cert, &cl)
	    || __scone_tls_config_identity(scfg, cert, cl, k)
	    || __scone_crypto_key_public_der(k, spki, sizeof spki, &pl)) {
		fprintf(stderr, "setup: %s\n", __scone_crypto_error());
		return 1;
	}
	s = __scone_tls_new(scfg, NULL);
	c = __scone_tls_new(ccfg, "server.test");
	check("tls objects", s && c && __scone_tls_state(c) == SCONE_TLS_HANDSHAKE
	      && __scone_tls_version(c) == 0);
	for (i = 0; i < 10 && (cs || ss); i++) {
		if (cs)
			cs = __scone_tls_handshake(c);
		pump(c, s);
		if (ss)
			ss = __scone_tls_handshake(s);
		pump(s, c);
	}
	check("tls 1.3 handshake over a bio pair", !cs && !ss && __scone_tls_version(c) == 0x0304
	      && __scone_tls_version(s) == 0x0304 && __scone_tls_state(s) == SCONE_TLS_OPEN);
	printf("handshake round trips %d\n", i);
	check("tls client pins the server key", __scone_tls_peer_key_sha256(c, pin) == 0
	      && __scone_crypto_sha256(spki, pl, want_pin) == 0 && !memcmp(pin, want_pin, 32));
	check("tls read with no data wants more", __scone_tls_read(s, buf, sizeof buf) == SCONE_CRYPTO_EAGAIN);
	/* 100 kB each way, in pieces, through the 17 kB pair buffers. */
	for (size_t j = 0; j < sizeof big; j++)
		big[j] = (uint8_t)(j * 7 + 3);
	for (size_t off = 0; off < sizeof big || have < sizeof big;) {
		if (off < sizeof big) {
			n = __scone_tls_write(c, big + off, sizeof big - off);
			if (n > 0)
				off += (size_t)n;
			else if (n != SCONE_CRYPTO_EAGAIN)
				break;
		}
		pump(c, s);
		while ((n = __scone_tls_read(s, got + have, sizeof got - have)) > 0)
			have += (size_t)n;
		if (n != SCONE_CRYPTO_EAGAIN && have < sizeof big)
			break;
	}
	check("tls 100 kB client to server", have == sizeof big && !memcmp(big, got, sizeof big));
	n = __scone_tls_write(s, "pong", 4);
	pump(s, c);
	check("tls pending counts decrypted bytes",
	      n == 4 && __scone_tls_pending(c) == 0 && __scone_tls_read(c, buf, 1) == 1
	      && __scone_tls_pending(c) == 3);
	check("tls server to client", __scone_tls_read(c, buf + 1, sizeof buf - 1) == 3
	      && !memcmp(buf, "pong", 4));
	__scone_tls_shutdown(c);
	pump(c, s);
	check("tls close_notify", __scone_tls_read(s, buf, sizeof buf) == 0
	      && __scone_tls_state(s) == SCONE_TLS_CLOSED);
	/* A tampered record is a fatal error, not data. */
	scone_tls *s2 = __scone_tls_new(scfg, NULL), *c2 = __scone_tls_new(ccfg, "server.test");
	for (i = 0, cs = ss = SCONE_CRYPTO_EAGAIN; i < 10 && (cs || ss); i++) {
		if (cs)
			cs = __scone_tls_handshake(c2);
		pump(c2, s2);
		if (ss)
			ss = __scone_tls_handshake(s2);
		pump(s2, c2);
	}
	uint8_t rec[256];
	__scone_tls_write(c2, "secret", 6);
	n = __scone_tls_drain(c2, rec, sizeof rec);
	rec[n - 1] ^= 1;
	__scone_tls_feed(s2, rec, (size_t)n);
	check("tls tampered record refused", n > 0 && __scone_tls_read(s2, buf, sizeof buf) < 0
	      && __scone_tls_state(s2) == SCONE_TLS_FAILED);
	/* Name checking: a client that trusts the certificate but expects another name. */
	scone_tls_config *vcfg = __scone_tls_config_new(0);
	int trust = __scone_tls_config_trust(vcfg, cert, cl);
	const char *names[2] = {"server.test", "other.test"};
	for (int j = 0; j < 2; j++) {
		scone_tls *s3 = __scone_tls_new(scfg, NULL), *c3 = __scone_tls_new(vcfg, names[j]);
		for (i = 0, cs = ss = SCONE_CRYPTO_EAGAIN; i < 10 && cs == SCONE_CRYPTO_EAGAIN; i++) {
			cs = __scone_tls_handshake(c3);
			pump(c3, s3);
			if (ss == SCONE_CRYPTO_EAGAIN)
				ss = __scone_tls_handshake(s3);
			pump(s3, c3);
		}
		check(j ? "tls verify refuses another name" : "tls verify accepts the trusted certificate",
		      trust == 0 && (j ? cs == SCONE_CRYPTO_EFAIL : cs == 0));
		__scone_tls_free(s3);
		__scone_tls_free(c3);
	}
	__scone_tls_config_free(vcfg);
	/* Mutual TLS: a server that trusts one client certificate requires it. */
	static uint8_t ccert[2048];
	size_t ccl;
	scone_crypto_key *ck = __scone_crypto_ec_generate();
	scone_tls_config *mcfg = __scone_tls_config_new(1), *idcfg = __scone_tls_config_new(0);
	int ok = ck && mcfg && idcfg
	         && !__scone_crypto_x509_self_signed(ck, "client.test", 1, NULL, NULL, 0, ccert,
	                                             sizeof ccert, &ccl)
	         && !__scone_tls_config_identity(mcfg, cert, cl, k)
	         && !__scone_tls_config_trust(mcfg, ccert, ccl)
	         && !__scone_tls_config_identity(idcfg, ccert, ccl, ck);
	for (int j = 0; ok && j < 2; j++) {
		scone_tls *s4 = __scone_tls_new(mcfg, NULL), *c4 = __scone_tls_new(j ? ccfg : idcfg, NULL);
		for (i = 0, cs = ss = SCONE_CRYPTO_EAGAIN; i < 10 && ss == SCONE_CRYPTO_EAGAIN; i++) {
			if (cs == SCONE_CRYPTO_EAGAIN)
				cs = __scone_tls_handshake(c4);
			pump(c4, s4);
			ss = __scone_tls_handshake(s4);
			pump(s4, c4);
			/* TLS 1.3: the client is done before the server has seen its certificate. */
			if (!cs)
				__scone_tls_read(c4, buf, sizeof buf);
		}
		check(j ? "mutual tls refuses a client without a certificate"
		        : "mutual tls accepts the trusted client", j ? ss == SCONE_CRYPTO_EFAIL : ss == 0);
		__scone_tls_free(s4);
		__scone_tls_free(c4);
	}
	check("mutual tls set-up", ok);
	__scone_tls_config_free(mcfg);
	__scone_tls_config_free(idcfg);
	__scone_crypto_key_free(ck);
	__scone_tls_free(s2);
	__scone_tls_free(c2);
	__scone_tls_free(s);
	__scone_tls_free(c);
	__scone_tls_config_free(scfg);
	__scone_tls_config_free(ccfg);
	__scone_crypto_key_free(k);
	printf("%d failures\n", failures);
	return failures != 0;
}

/* Many threads at once (lthreads inside the enclave): OpenSSL's locks and
 * once-initialisation under the runtime's futexes. */
static void *worker(void *arg)
{
	uint8_t key[16], iv[12], pt[4096], ct[4096], back[4096], tag[16], d1[32], d2[32];
	long bad = 0;

	for (int i = 0; i < 200; i++) {
		if (__scone_crypto_random(key, sizeof key) || __scone_crypto_random(iv, sizeof iv)
		    || __scone_crypto_random(pt, sizeof pt))
			bad++;
		if (__scone_crypto_aes_gcm_encrypt(key, 16, iv, 12, &i, sizeof i, pt, sizeof pt, ct, tag)
		    || __scone_crypto_aes_gcm_decrypt(key, 16, iv, 12, &i, sizeof i, ct, sizeof ct, back, tag)
		    || memcmp(pt, back, sizeof pt))
			bad++;
		if (__scone_crypto_sha256(pt, sizeof pt, d1) || __scone_crypto_sha256(back, sizeof back, d2)
		    || memcmp(d1, d2, 32))
			bad++;
	}
	(void)arg;
	return (void *)bad;
}

static int threads(void)
{
	pthread_t t[8];
	long bad = 0;
	void *r;

	for (int i = 0; i < 8; i++)
		if (pthread_create(&t[i], NULL, worker, NULL))
			return 1;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	check("8 threads x 200 gcm/sha256/random rounds", bad == 0);
	return bad != 0;
}

static char *slurp(const char *path, size_t *len)
{
	static char bufs[2][16384];
	static int which;
	char *b = bufs[which++ & 1];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(2);
	}
	*len = fread(b, 1, sizeof bufs[0] - 1, f);
	fclose(f);
	return b;
}

/* Send all ciphertext the engine has. */
static int flush_out(scone_tls *t, int fd)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = __scone_tls_drain(t, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return -1;
	return 0;
}

/* Feed what the socket has; -1 at EOF. */
static int fill_in(scone_tls *t, int fd)
{
	uint8_t buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n <= 0)
		return -1;
	return __scone_tls_feed(t, buf, (size_t)n) == n ? 0 : -1;
}

static int tls_serve(char **argv)
{
	size_t cl, kl;
	char *chain = slurp(argv[0], &cl), *key = slurp(argv[1], &kl);
	scone_tls_config *cfg = __scone_tls_config_new(1);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	int ls, fd, rc;
	char line[256], reply[300];
	size_t have = 0;
	ssize_t n;

	if (!cfg || __scone_tls_config_identity_pem(cfg, chain, cl, key, kl)) {
		fprintf(stderr, "identity: %s\n", __scone_crypto_error());
		return 1;
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 1)
	    || getsockname(ls, (struct sockaddr *)&sa, &sl)) {
		perror("listen");
		return 1;
	}
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	if ((fd = accept(ls, NULL, NULL)) < 0) {
		perror("accept");
		return 1;
	}
	scone_tls *t = __scone_tls_new(cfg, NULL);
	while ((rc = __scone_tls_handshake(t)) == SCONE_CRYPTO_EAGAIN)
		if (flush_out(t, fd) || fill_in(t, fd))
			break;
	flush_out(t, fd);
	if (rc) {
		fprintf(stderr, "handshake: %s\n", __scone_crypto_error());
		return 1;
	}
	printf("version %04x\n", __scone_tls_version(t));
	while (!memchr(line, '\n', have)) {
		n = __scone_tls_read(t, line + have, sizeof line - 1 - have);
		if (n > 0)
			have += (size_t)n;
		else if (n != SCONE_CRYPTO_EAGAIN || fill_in(t, fd))
			break;
		flush_out(t, fd); /* TLS 1.3 tickets, key updates */
	}
	line[have] = 0;
	printf("got %s", line);
	snprintf(reply, sizeof reply, "enclave says %s", line);
	__scone_tls_write(t, reply, strlen(reply));
	__scone_tls_shutdown(t);
	flush_out(t, fd);
	close(fd);
	close(ls);
	__scone_tls_free(t);
	__scone_tls_config_free(cfg);
	fflush(stdout);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	uint8_t key[16] = {1}, iv[12] = {2}, tag[16];
	double secs = atof(argv[0]), t0 = now(), t;
	size_t len = argc > 1 ? (size_t)atol(argv[1]) : 16384;
	unsigned long n = 0;

	if (len > sizeof buf)
		return 2;
	/* The clock is read once per 8 MiB: reading it costs far more in an
	 * enclave than natively, and must not weigh on the figure. */
	do {
		for (size_t done = 0; done < (8u << 20); done += len, n++)
			__scone_crypto_aes_gcm_encrypt(key, 16, iv, 12, NULL, 0, buf, len, buf, tag);
	} while ((t = now() - t0) < secs);
	printf("aes-128-gcm %zu-byte buffers: %.1f MB/s\n", len, n * (double)len / t / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "kat"))
		return kat();
	if (argc == 6 && !strcmp(argv[1], "kdf"))
		return kdf(argv + 2);
	if (argc == 3 && !strcmp(argv[1], "ecdsa"))
		return ecdsa(argv + 2);
	if (argc == 2 && !strcmp(argv[1], "threads"))
		return threads();
	if (argc == 2 && !strcmp(argv[1], "tls-pair"))
		return tls_pair();
	if (argc == 4 && !strcmp(argv[1], "tls-serve"))
		return tls_serve(argv + 2);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "bench"))
		return bench(argc - 2, argv + 2);
	fprintf(stderr, "usage: %s kat|kdf|ecdsa|tls-pair|tls-serve|bench ...\n", argv[0]);
	return 2;
}
