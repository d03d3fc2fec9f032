/*
 * A stand-in for Intel's libsgx_dcap_ql.so.1 with its three functions'
 * published signatures (sgx_dcap_ql_wrapper.h), to test how the starter
 * treats what the library gives: it is not the quoting enclave and makes
 * no quote of its own. FAKE_DCAP_QUOTE names a file whose bytes are "the
 * quote"; FAKE_DCAP_ERROR makes every call fail with that quote3_error_t;
 * FAKE_DCAP_REPORT names a file where get_quote writes the REPORT it got.
 * Built without sgx_qe_get_quote when -DNO_QUOTE is given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long error_code(void)
{
	const char *e = getenv("FAKE_DCAP_ERROR");
	return e ? strtol(e, NULL, 0) : 0;
}

static long quote_bytes(uint8_t *out, size_t cap)
{
	FILE *f = fopen(getenv("FAKE_DCAP_QUOTE"), "rb");
	if (!f)
		return -1;
	size_t n = fread(out, 1, cap, f);
	fclose(f);
	return (long)n;
}

int sgx_qe_get_target_info(uint8_t *ti)
{
	if (error_code())
		return (int)error_code();
	for (int i = 0; i < 512; i++)
		ti[i] = (uint8_t)i;
	return 0;
}

int sgx_qe_get_quote_size(uint32_t *size)
{
	static uint8_t big[1 << 20];
	if (error_code())
		return (int)error_code();
	long n = quote_bytes(big, sizeof big);
	*size = n < 0 ? 0 : (uint32_t)n;
	return 0;
}

#ifndef NO_QUOTE
int sgx_qe_get_quote(const uint8_t *report, uint32_t size, uint8_t *quote)
{
	if (error_code())
		return (int)error_code();
	const char *r = getenv("FAKE_DCAP_REPORT");
	if (r) {
		FILE *f = fopen(r, "wb");
		fwrite(report, 1, 432, f);
		fclose(f);
	}
	return quote_bytes(quote, size) == (long)size ? 0 : 0xe001;
}
#endif
