/*
 * Builds a signed binary's enclave with the SIM backend and prints its base
 * and SIZE, then the lines of /proc/self/maps that fall inside it, so that
 * the test can compare the page permissions EINIT left with the layout.
 * Usage: sim_perms_test <scone binary>
 */
#include <inttypes.h>
#include <stdio.h>

#include "loader.h"
#include "selfexe.h"

int main(int argc, char **argv)
{
	char err[512], line[512];
	struct scone_selfexe x;
	struct scone_note n;
	struct scone_enclave *e;
	uint64_t base;

	if (argc != 2 || scone_selfexe_open(argv[1], argv[1], &x, err, sizeof err) ||
	    scone_note_parse(x.note, x.note_size, x.image, x.image_size, &n, err, sizeof err) ||
	    scone_load(&scone_backend_sim, &n, &e, &base, err, sizeof err)) {
		printf("FAIL %s\n", argc == 2 ? err : "usage: sim_perms_test <scone binary>");
		return 1;
	}
	printf("enclave %" PRIx64 " %" PRIx64 "\n", base, n.hdr.enclave_size);
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return 1;
	while (fgets(line, sizeof line, maps)) {
		uint64_t lo, hi;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && lo < base + n.hdr.enclave_size && hi > base)
			fputs(line, stdout);
	}
	return 0;
}
