/*
 * A normal START, a refused second START while the first is out in an
 * OCALL, then RESUMEs until the program ends.
 * Usage: entry_run_test <scone binary>
 */
#include <stdio.h>
#include <string.h>

#include "hostcall.h"
#include "loader.h"
#include "selfexe.h"

#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); return 1; } } while (0)

static struct scone_ocall ocall;
static struct scone_start_args args;

int main(int argc, char **argv)
{
	char err[512];
	struct scone_selfexe x;
	struct scone_note n;
	struct scone_enclave *e;
	uint64_t base, reason, value;
	const struct scone_backend *b = &scone_backend_sim;

	CHECK(argc == 2);
	CHECK(scone_selfexe_open(argv[1], argv[1], &x, err, sizeof err) == 0);
	CHECK(scone_note_parse(x.note, x.note_size, x.image, x.image_size, &n, err, sizeof err) == 0);
	CHECK(scone_load(b, &n, &e, &base, err, sizeof err) == 0);
	uint64_t tcs = n.config.threads[0].tcs;

	char *argv0[] = { "entry", "again", "5", NULL };
	char *envp0[] = { "HOME=/h", NULL };
	args.argc = 3;
	args.argv = (uint64_t)(uintptr_t)argv0;
	args.envp = (uint64_t)(uintptr_t)envp0;
	args.ocall = (uint64_t)(uintptr_t)&ocall;
	args.flags = SCONE_START_SIM;
	CHECK(b->enter(e, tcs, SCONE_ECALL_START, (uint64_t)(uintptr_t)&args, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_OCALL && value == (uint64_t)(uintptr_t)&ocall);
	long first = ocall.nr;

	CHECK(b->enter(e, tcs, SCONE_ECALL_START, (uint64_t)(uintptr_t)&args, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_ABORT && value == 0);

	/* The refused entry left the outstanding OCALL intact. */
	CHECK(ocall.nr == first);
	int calls = 0;
	for (;;) {
		long r = scone_hostcall(&ocall);
		calls++;
		CHECK(b->enter(e, tcs, SCONE_ECALL_RESUME, (uint64_t)r, &reason, &value) == 0);
		if (reason != SCONE_EXIT_OCALL)
			break;
	}
	CHECK(reason == SCONE_EXIT_DONE && value == 5);
	printf("run ok after %d calls\n", calls);
	return 0;
}
