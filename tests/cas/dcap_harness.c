/*
 * Drives the starter's DCAP half (runtime/untrusted/dcapquote.c), built
 * static as the starter is: `dcap_harness target|quote CAP`. Prints the
 * OCALL's result, then the host buffer: the sentence on failure, the
 * TARGETINFO or the quote in hex on success. The quote call passes a
 * REPORT of 0x5a bytes, as an enclave's EREPORT would fill it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scone/cas_protocol.h>
#include <scone/sgx_report.h>

#include "dcapquote.h"

int main(int argc, char **argv)
{
	size_t cap = strtoul(argv[2], NULL, 0);
	uint8_t *buf = calloc(1, cap + 1);
	struct scone_ocall o = { .args = { (int64_t)(uintptr_t)buf, (int64_t)cap } };
	long rc;
	memset(buf, 0x5a, sizeof(struct scone_sgx_report) <= cap ? sizeof(struct scone_sgx_report) : cap);
	rc = !strcmp(argv[1], "target") ? scone_dcap_target(&o) : scone_dcap_quote(&o);
	printf("%ld\n", rc);
	if (rc < 0) {
		printf("%s\n", (char *)buf);
		return 0;
	}
	size_t n = rc ? (size_t)rc : sizeof(struct scone_sgx_targetinfo);
	for (size_t i = 0; i < n; i++)
		printf("%02x", buf[i]);
	printf("\n");
	return 0;
}
