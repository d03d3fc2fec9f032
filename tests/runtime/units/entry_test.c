/*
 * The entry protocol (enclave_abi.h) driven by hand against a real signed
 * binary in SIM: entries the runtime must refuse, and a normal run resumed
 * after a refused one.
 * Usage: entry_test <scone binary>
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

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

	/* RESUME with no OCALL outstanding. */
	CHECK(b->enter(e, tcs, SCONE_ECALL_RESUME, 0, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_ABORT && value == 0);
	/* An unknown op. */
	CHECK(b->enter(e, tcs, 7, 0, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_ABORT && value == 0);

	/* START whose OCALL block lies inside the enclave: refused, no message. */
	char *argv0[] = { "entry", NULL };
	char *envp0[] = { "SCONE_LOG=off", NULL };
	args.argc = 1;
	args.argv = (uint64_t)(uintptr_t)argv0;
	args.envp = (uint64_t)(uintptr_t)envp0;
	args.ocall = base + 4096;
	args.flags = SCONE_START_SIM;
	CHECK(b->enter(e, tcs, SCONE_ECALL_START, (uint64_t)(uintptr_t)&args, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_ABORT && value == 0);
	/* That START consumed the enclave's one start: a second is refused. */
	args.ocall = (uint64_t)(uintptr_t)&ocall;
	CHECK(b->enter(e, tcs, SCONE_ECALL_START, (uint64_t)(uintptr_t)&args, &reason, &value) == 0);
	CHECK(reason == SCONE_EXIT_ABORT && value == 0);
	printf("entry ok\n");
	return 0;
}
