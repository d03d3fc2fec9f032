/*
 * START (enclave_abi.h): check the config page, copy the host's start
 * arguments, argv and envp in, build the auxiliary vector, and hand over to
 * musl's __libc_start_main. Runs on this TCS's stack, after relocation.
 */
#include <elf.h>

#include "../shield/shield.h"
#include "client.h"
#include "heap.h"
#include "reloc.h"

#define MAX_STRINGS 65536u          /* argv + envp entries */
#define MAX_BYTES (8u << 20)        /* argv + envp bytes */

struct scone_rt __scone_rt;
extern int __scone_reloc_status SCONE_HIDDEN;
extern char __scone_image_end[] SCONE_HIDDEN;
extern const Elf64_Ehdr __ehdr_start SCONE_HIDDEN;

int __libc_start_main(int (*)(int, char **, char **), int, char **,
		      void (*)(void), void (*)(void), void (*)(void));
int main(int, char **, char **);
/* runtime/shield/cas/attest.c, linked by --scone-cas-key: its constructor
 * has attested and installed the CAS's configuration; this calls main with
 * the policy's argv. */
int __scone_cas_main(int, char **, char **) __attribute__((weak)) SCONE_HIDDEN;

static void check_config(uintptr_t base)
{
	const struct scone_enclave_config *c = (const void *)__scone_image_end;
	uint64_t image_end = (uintptr_t)__scone_image_end - base;
	if (c->magic != SCONE_CONFIG_MAGIC || c->version != SCONE_CONFIG_VERSION ||
	    c->image_end != image_end || c->tcs_count < 1 || c->tcs_count > SCONE_MAX_TCS ||
	    (c->enclave_size & (c->enclave_size - 1)) || c->heap_offset % SCONE_PAGE_SIZE ||
	    c->heap_size % SCONE_PAGE_SIZE || c->heap_offset < image_end + SCONE_PAGE_SIZE ||
	    c->heap_size > c->enclave_size || c->heap_offset > c->enclave_size - c->heap_size)
		__scone_eexit(SCONE_EXIT_ABORT, 0);   /* no host memory yet for a message */
	__scone_rt.cfg = c;
	__scone_rt.size = c->enclave_size;
}

/* Read an aligned host pointer-sized slot, or 0 if it is not host memory. */
static int host_word(uint64_t p, uint64_t *out)
{
	if (p % 8 || !__scone_host_range(p, 8))
		return 0;
	*out = *(volatile const uint64_t *)p;
	return 1;
}

/* Length of a host string, bounded by max and by the enclave below it. */
static int host_strlen(uint64_t p, uint64_t max, uint64_t *len)
{
	if (!__scone_host_range(p, 1))
		return 0;
	if (p < __scone_rt.base && __scone_rt.base - p < max)
		max = __scone_rt.base - p;
	for (uint64_t n = 0; n < max; n++) {
		if (!*(volatile const char *)(p + n)) {
			*len = n;
			return 1;
		}
	}
	return 0;
}

struct vec {
	uint64_t count;                   /* pointers in the host array */
	uint64_t bytes;                   /* string bytes, with NULs */
};

/* Count a host array of strings (argc of them, or up to NULL if argc < 0). */
static int measure(uint64_t arr, long argc, struct vec *v, uint64_t budget)
{
	v->count = v->bytes = 0;
	for (uint64_t i = 0;; i++) {
		uint64_t s, n;
		if (argc >= 0 && i == (uint64_t)argc)
			return 1;
		if (i >= MAX_STRINGS || !host_word(arr + 8 * i, &s))
			return 0;
		if (!s && argc < 0)
			return 1;
		if (!host_strlen(s, budget - v->bytes, &n))
			return 0;
		v->count++;
		v->bytes += n + 1;
	}
}

/* Copy count strings in; a host that changes them meanwhile gets truncated,
 * never an overflow: lengths come from the first pass. */
static char *copy_strings(uint64_t arr, uint64_t count, char **dst, char *out, char *end)
{
	for (uint64_t i = 0; i < count; i++) {
		uint64_t s = 0, n = 0;
		if (out >= end) {               /* end[-1] is always a NUL */
			dst[i] = end - 1;
			continue;
		}
		host_word(arr + 8 * i, &s);
		if (!s || !host_strlen(s, (uint64_t)(end - out) - 1, &n))
			n = 0;
		__scone_memcpy(out, (const void *)s, n);
		out[n] = 0;
		dst[i] = out;
		out += n + 1;
	}
	dst[count] = 0;
	return out;
}

static uint64_t rdrand64(void)
{
	for (int i = 0; i < 100; i++) {
		uint64_t v;
		unsigned char ok;
		__asm__ __volatile__("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (ok)
			return v;
	}
	__scone_abort("scone: RDRAND failed: the enclave has no randomness for AT_RANDOM");
}

static const char *find_env(char **envp, const char *key, size_t n)
{
	for (; *envp; envp++)
		if (!__scone_strncmp(*envp, key, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return 0;
}

_Noreturn void __scone_start(uintptr_t base, uint64_t host_args) SCONE_HIDDEN;
_Noreturn void __scone_start(uintptr_t base, uint64_t host_args)
{
	__scone_rt.base = base;
	__scone_rt.log_level = SCONE_LOG_WARN;
	check_config(base);

	struct scone_start_args args;
	if (!__scone_host_range(host_args, sizeof args))
		__scone_eexit(SCONE_EXIT_ABORT, 0);
	__scone_memcpy(&args, (const void *)host_args, sizeof args);
	for (unsigned i = 0; i < sizeof args.reserved / sizeof args.reserved[0]; i++)
		if (args.reserved[i] && i != SCONE_START_SYSCALL_AREA && i != SCONE_START_ETHREADS &&
		    i != SCONE_START_SIGNALS && i != SCONE_START_TIME && i != SCONE_START_CPUID &&
		    i != SCONE_START_HWM && i != SCONE_START_SIM_SEAL)
			__scone_eexit(SCONE_EXIT_ABORT, 0);
	if (args.ocall % 8 || !__scone_host_range(args.ocall, sizeof(struct scone_ocall)))
		__scone_eexit(SCONE_EXIT_ABORT, 0);
	__scone_rt.host_ocall = (struct scone_ocall *)args.ocall;
	__scone_set_host_ocall(__scone_rt.host_ocall);
	uint64_t ethreads = args.reserved[SCONE_START_ETHREADS];
	__scone_rt.ethreads = ethreads ? (unsigned)ethreads : 1;
	if (ethreads > __scone_rt.cfg->tcs_count)
		__scone_abortf("scone: SCONE_ETHREADS=%lu but the enclave was signed with %u TCS; lower it or sign with a larger --scone-tcs",
			       (unsigned long)ethreads, __scone_rt.cfg->tcs_count);

	if (__scone_reloc_status)
		__scone_abort(__scone_reloc_status == SCONE_RELOC_BAD_TYPE
			? "scone: the enclave image has a relocation other than R_X86_64_RELATIVE; relink it with -static-pie"
			: __scone_reloc_status == SCONE_RELOC_OUT_OF_RANGE
			? "scone: the enclave image relocates outside its writable segment; relink it with -z text and linker_scripts/enclave.ld"
			: "scone: the enclave image has a malformed dynamic relocation table");

	__scone_memory_init(base + __scone_rt.cfg->heap_offset, __scone_rt.cfg->heap_size);
	__scone_client_init(args.reserved[SCONE_START_SYSCALL_AREA], !!(args.flags & SCONE_START_SIM));
	/* adapt.c times calls only where RDTSC may run inside. */
	__scone_client.tsc = (args.flags & SCONE_START_RDTSC) != 0;
	__scone_clock_init(args.reserved[SCONE_START_TIME], args.flags);
	__scone_cpuid_init(args.reserved[SCONE_START_CPUID]);

	struct vec av, ev;
	if (args.argc > MAX_STRINGS || !measure(args.argv, (long)args.argc, &av, MAX_BYTES) ||
	    !measure(args.envp, -1, &ev, MAX_BYTES - av.bytes))
		__scone_abort("scone: the arguments or environment are unreadable or too large (limit 8 MiB, 65536 strings)");

	/* argc, argv[], NULL, envp[], NULL, auxv[], AT_RANDOM bytes, strings */
	enum { NAUX = 16 };
	uint64_t words = 1 + av.count + 1 + ev.count + 1 + 2 * NAUX + 2;
	unsigned long len = words * 8 + av.bytes + ev.bytes + 1;
	long blk = __scone_sys_mmap(0, len, 3, 0x22, -1, 0);
	if (blk < 0)
		__scone_abort("scone: no heap left for the arguments and environment; sign with a larger --heap");
	uint64_t *w = (uint64_t *)blk;
	char *strings = (char *)(w + words), *end = strings + av.bytes + ev.bytes + 1;
	w[0] = av.count;
	char **argv = (char **)(w + 1), **envp = argv + av.count + 1;
	char *s = copy_strings(args.argv, av.count, argv, strings, end);
	copy_strings(args.envp, ev.count, envp, s, end);
	__scone_rt.log_level = __scone_log_parse(find_env(envp, "SCONE_LOG", 9));
	__scone_rt.sim = !!(args.flags & SCONE_START_SIM);
	__scone_threads_init(args.hwcap2, args.flags);
	__scone_signals_init(args.reserved[SCONE_START_SIGNALS]);
	__scone_hwm_init(args.reserved[SCONE_START_HWM], __scone_rt.log_level >= SCONE_LOG_INFO,
			 !!(args.flags & SCONE_START_SIM));
	__scone_hwm_name(av.count ? argv[0] : 0);
	__scone_shield_init(envp, args.flags & SCONE_START_SIM ? args.reserved[SCONE_START_SIM_SEAL] : 0);

	uint64_t *rnd = (uint64_t *)(envp + ev.count + 1 + 2 * NAUX);
	rnd[0] = rdrand64();
	rnd[1] = rdrand64();
	const Elf64_Ehdr *eh = &__ehdr_start;
	uint64_t *aux = (uint64_t *)(envp + ev.count + 1), *a = aux;
#define AUX(k, v) (*a++ = (k), *a++ = (uint64_t)(v))
	AUX(AT_PHDR, base + eh->e_phoff);
	AUX(AT_PHENT, eh->e_phentsize);
	AUX(AT_PHNUM, eh->e_phnum);
	AUX(AT_PAGESZ, SCONE_PAGE_SIZE);
	AUX(AT_BASE, 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, base + eh->e_entry);
	AUX(AT_HWCAP, args.hwcap);
	AUX(AT_HWCAP2, args.hwcap2);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, rnd);
	AUX(AT_EXECFN, av.count ? argv[0] : "");
	AUX(AT_NULL, 0);
#undef AUX

	__scone_log(SCONE_LOG_DEBUG, "enclave started at 0x%lx, size %lu, heap %lu bytes, %s, syscalls %s (%u queue pairs of %u slots)",
		    (unsigned long)base, (unsigned long)__scone_rt.size,
		    (unsigned long)__scone_rt.cfg->heap_size,
		    args.flags & SCONE_START_SIM ? "SIM" : "HW",
		    __scone_client.async ? "async" : "sync", __scone_client.queues, __scone_client.entries);
	int (*entry)(int, char **, char **) = main;
	if (__scone_rt.cfg->flags & SCONE_CONFIG_CAS) {
		if (!__scone_cas_main)
			__scone_abort("scone: this enclave was signed with a CAS key but linked without the attestation client; relink it with scone-gcc --scone-cas-key=HASH");
		entry = __scone_cas_main;
	}
	__scone_exit(__libc_start_main(entry, (int)av.count, argv, 0, 0, 0));
}
