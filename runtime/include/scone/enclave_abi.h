/*
 * The enclave ABI: what the starter (untrusted) and the runtime inside the
 * enclave (trusted) agree on. Everything here crosses the trust boundary or
 * sits in a measured page; offsets are fixed by _Static_assert.
 *
 * Enclave memory map (offsets from the enclave base; computed only by
 * scone_cc/enclave/layout.py, followed page by page by the loader):
 *
 *   0                   the enclave image (static-pie ELF, linked at 0)
 *   image_end           config page: struct scone_enclave_config (R, measured)
 *   heap_offset         heap (RW, EADD only: never EEXTENDed)
 *   per TCS i:          guard page (never added)
 *                       stack (RW, EADD only), grows down towards the guard
 *                       TCS page (PT_TCS, SECINFO 0x100, measured)
 *                       SSA frames: nssa * ssa_frame_pages (RW, measured)
 *                       thread page: struct scone_thread (RW, measured);
 *                       TCS.OFSBASE = TCS.OGSBASE = this page
 *   ... up to SIZE       never added (SIZE is a power of two)
 *
 * Entry (EENTER, or its SIM emulation): the host passes RDI = op and
 * RSI = arg, and RDX = SCONE_ENTER_SIM when it only emulates EENTER (SIM:
 * EEXIT must then be a jump; HW passes 0). EENTER sets RBX = TCS address and
 * RCX = the address to EEXIT to.
 * GS base = the thread page. Exit (EEXIT): RDI = reason, RSI = value; RSP and
 * RBP are the host's again; every other register is scrubbed.
 */
#ifndef SCONE_ENCLAVE_ABI_H
#define SCONE_ENCLAVE_ABI_H

#include <stddef.h>
#include <stdint.h>

#define SCONE_PAGE_SIZE 4096u
#define SCONE_MAX_TCS 64u

/* ---- ops the host passes in RDI at EENTER ---- */
#define SCONE_ECALL_START  0u   /* RSI = struct scone_start_args * (untrusted) */
#define SCONE_ECALL_RESUME 1u   /* RSI = result of the OCALL the enclave exited for */
#define SCONE_ECALL_ETHREAD 2u  /* RSI = struct scone_ocall * for this TCS (untrusted):
                                 * run the M:N scheduler on TCS 1..ethreads-1, once
                                 * START has brought it up; returns only by DONE/ABORT */

/* ---- RDX at EENTER ---- */
#define SCONE_ENTER_SIM    1u   /* EENTER is emulated: leave by a jump, not ENCLU */

/* ---- reasons the enclave passes in RDI at EEXIT ---- */
#define SCONE_EXIT_OCALL   1u   /* RSI = struct scone_ocall * (untrusted): run it, RESUME */
#define SCONE_EXIT_DONE    2u   /* RSI = exit status: the program ended */
#define SCONE_EXIT_ABORT   3u   /* RSI = struct scone_abort * (untrusted): fatal, message */
/* From an exception entry (EENTER with CSSA > 0, DESIGN.md §11): */
#define SCONE_EXIT_ERESUME 4u   /* handled: ERESUME the interrupted context (SSA) */
#define SCONE_EXIT_UNHANDLED 5u /* no handler inside: the fault ends the process */

/* ---- SSA frame (sgx-spec.md §5): the last 184 bytes are GPRSGX ---- */
#define SCONE_GPRSGX_SIZE 184u
struct scone_gprsgx {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags, rip, ursp, urbp;
	uint32_t exitinfo;         /* vector [7:0], type [10:8], valid [31] */
	uint8_t reserved[3];
	uint8_t aexnotify;
	uint64_t fsbase, gsbase;
};
_Static_assert(sizeof(struct scone_gprsgx) == SCONE_GPRSGX_SIZE, "SSA ABI");
_Static_assert(offsetof(struct scone_gprsgx, exitinfo) == 160, "SSA ABI");
/* MISC region, EXINFO (16 bytes right below GPRSGX): #PF and #GP details,
 * written by the CPU when SECS.MISCSELECT has EXINFO (bit 0), which is also
 * what makes it report #PF and #GP in EXITINFO at all. */
#define SCONE_MISCSELECT_EXINFO 1u
struct scone_exinfo {
	uint64_t maddr;
	uint32_t errcd;
	uint32_t reserved;
};
#define SCONE_EXITINFO_VALID (1u << 31)
#define SCONE_EXITINFO_HW (3u << 8)        /* exit type: hardware exception */
#define SCONE_VEC_DE 0u
#define SCONE_VEC_BP 3u
#define SCONE_VEC_UD 6u
#define SCONE_VEC_GP 13u
#define SCONE_VEC_PF 14u
#define SCONE_VEC_MF 16u
#define SCONE_VEC_AC 17u
#define SCONE_VEC_XM 19u

/* ---- config page: measured, read-only inside the enclave ---- */
#define SCONE_CONFIG_MAGIC 0x4746434e4f435355ull /* "USCONCFG" little-endian */
#define SCONE_CONFIG_VERSION 1u
#define SCONE_CONFIG_DEBUG 1ull
#define SCONE_CONFIG_CAS 2ull      /* cas_key_sha256 is set: attest before main */
#define SCONE_CONFIG_CONSOLE 4ull  /* fd 0/1/2 through the console shield */

struct scone_thread_layout {       /* offsets from the enclave base */
	uint64_t tcs;
	uint64_t ssa;
	uint64_t stack_lo;         /* lowest stack byte; the guard page is below */
	uint64_t stack_hi;         /* one past the highest: the initial RSP */
	uint64_t thread;           /* struct scone_thread page */
};

struct scone_enclave_config {
	uint64_t magic;            /* SCONE_CONFIG_MAGIC */
	uint32_t version;          /* SCONE_CONFIG_VERSION */
	uint32_t tcs_count;
	uint64_t enclave_size;     /* SECS.SIZE */
	uint64_t image_end;        /* page-aligned end of the image = this page */
	uint64_t heap_offset;
	uint64_t heap_size;
	uint64_t stack_size;
	uint32_t nssa;
	uint32_t ssa_frame_pages;
	uint64_t flags;            /* SCONE_CONFIG_DEBUG, ... */
	uint64_t reserved[2];      /* zero */
	uint8_t image_sha256[32];  /* SHA-256 of the whole image file */
	uint8_t cas_key_sha256[32]; /* SHA-256 of the CAS's SPKI (PROTOCOL.md §1), or zero */
	uint8_t reserved2[56];     /* zero */
	struct scone_thread_layout threads[SCONE_MAX_TCS];
};
_Static_assert(offsetof(struct scone_enclave_config, threads) == 208, "config ABI");
_Static_assert(sizeof(struct scone_enclave_config) <= SCONE_PAGE_SIZE, "config fits a page");

/*
 * File-system shield policy (DESIGN.md §8): the rest of the config page
 * after threads[], so it is measured with it and the host cannot turn a
 * region off. Written by scone_cc/enclave/fspolicy.py:
 *   uint32_t count; then count times { uint8_t mode; uint8_t key_source;
 *   uint16_t len; char prefix[len]; [uint8_t tag[32];] } (no NUL, no
 *   padding), zero after. key_source | SCONE_FS_TAG_FLAG: the volume's
 *   expected tag follows the prefix (encrypted and authenticated regions).
 * Prefixes are absolute, without '.', '..', '//' or a trailing '/'.
 */
#define SCONE_FS_TAG_FLAG 0x80
#define SCONE_CONFIG_FS_OFFSET (offsetof(struct scone_enclave_config, threads) + \
				SCONE_MAX_TCS * sizeof(struct scone_thread_layout))
#define SCONE_CONFIG_FS_SIZE (SCONE_PAGE_SIZE - SCONE_CONFIG_FS_OFFSET)
enum scone_fs_mode {
	SCONE_FS_MODE_UNPROTECTED = 0,
	SCONE_FS_MODE_EPHEMERAL = 1,
	SCONE_FS_MODE_AUTHENTICATED = 2,
	SCONE_FS_MODE_ENCRYPTED = 3,
};
enum scone_fs_key_source {
	SCONE_FS_KEY_SEALED_MRENCLAVE = 0,
	SCONE_FS_KEY_SEALED_MRSIGNER = 1,
	SCONE_FS_KEY_CAS = 2,
};
_Static_assert(SCONE_CONFIG_FS_OFFSET == 2768, "config ABI: fspolicy.py's CONFIG_FS_OFFSET");

/*
 * Network shield policy (DESIGN.md §8): right after the file-system policy
 * (which then holds at least its zero count), measured with it. Written by
 * scone_cc/enclave/netpolicy.py:
 *   uint32_t count; then count times { uint8_t kind; uint8_t action;
 *   uint16_t port; uint8_t has_addr; uint8_t zero[3]; uint8_t addr[16]
 *   (IPv4 mapped into IPv6); then cert, key, ca, name, each uint16_t len +
 *   bytes (no NUL) }, zero after. Paths are the enclave's view.
 */
enum scone_net_kind { SCONE_NET_KIND_SERVER = 0, SCONE_NET_KIND_CLIENT = 1, SCONE_NET_KIND_DEFAULT = 2 };
enum scone_net_action { SCONE_NET_CLEAR = 0, SCONE_NET_TLS = 1, SCONE_NET_REFUSE = 2 };

/*
 * Thread page: measured with the "layout" block filled in and the rest zero.
 * The entry code reaches it through %gs. ABI — do not reorder.
 */
struct scone_thread {
	/* layout: written by the signer, measured */
	uint64_t self;             /* 0:  offset of this page */
	uint64_t tcs;              /* 8:  offset of the TCS */
	uint64_t stack_hi;         /* 16: offset of the initial stack top */
	uint32_t index;            /* 24: TCS index */
	uint32_t pad0;             /* 28 */
	/* runtime state: zero at load, owned by the trusted runtime */
	uint64_t host_rsp;         /* 32: host RSP at EENTER (untrusted value) */
	uint64_t host_rbp;         /* 40: host RBP at EENTER (untrusted value) */
	uint64_t exit_target;      /* 48: RCX at EENTER: where EEXIT goes */
	uint64_t enclave_rsp;      /* 56: saved enclave RSP while out in an OCALL */
	uint64_t fsbase;           /* 64: thread pointer to restore on each entry */
	uint64_t base;             /* 72: enclave base address (set on first entry) */
	uint64_t flags;            /* 80: SCONE_THREAD_* */
	uint64_t scratch[5];       /* 88: free for the runtime: [0] SIM entry (entry.S),
	                            * [1] the scheduler's ethread, [2] this TCS's
	                            * host OCALL block, [3] entered by ETHREAD */
};
_Static_assert(offsetof(struct scone_thread, host_rsp) == 32, "thread ABI");
_Static_assert(offsetof(struct scone_thread, fsbase) == 64, "thread ABI");
_Static_assert(sizeof(struct scone_thread) == 128, "thread ABI");

/* ---- untrusted structures the host provides (copied, then checked) ---- */
#define SCONE_START_SIM 1ull       /* the host runs the SIM backend */
#define SCONE_START_XSAVEC 2ull    /* CPUID.(0xD,1):EAX bit 1, as the host reports it */
#define SCONE_START_XINUSE 4ull    /* CPUID.(0xD,1):EAX bit 2 */
/* reserved[SCONE_START_ETHREADS]: how many TCS the host runs the scheduler
 * on (SCONE_ETHREADS), 0 = 1; the enclave refuses more than tcs_count.
 * (reserved[0] is the syscall area, queue_abi.h.) */
#define SCONE_START_ETHREADS 1
/* reserved[SCONE_START_SIGNALS]: struct scone_signal_box * (host memory,
 * 64-byte aligned), or 0: no signals reach the enclave. */
#define SCONE_START_SIGNALS 2
/* reserved[SCONE_START_SIM_SEAL]: struct scone_sim_seal * (host memory), or
 * 0: SIM only, when the policy has a region whose key is sealed. EGETKEY
 * emulated from a per-machine secret: it protects nothing against the
 * machine's root. */
#define SCONE_START_SIM_SEAL 5
struct scone_sim_seal {
	uint8_t secret[32];        /* the per-machine secret file's content */
	uint8_t mrenclave[32];     /* as the SIM backend measured it */
	uint8_t mrsigner[32];      /* SHA-256 of the SIGSTRUCT's modulus */
};

/* reserved[SCONE_START_TIME]: struct scone_time_page * (host memory, one
 * page, page-aligned), or 0: time is asked of the host on every read. */
#define SCONE_START_TIME 3
/* flags: RDTSC may run inside the enclave (an SGX2 CPU, or SIM's sgx2 and
 * lax profiles). An untrusted claim: a host that lies makes the enclave
 * fault (#UD on SGX1), which it could do anyway. */
#define SCONE_START_RDTSC 8ull

/*
 * The time page (DESIGN.md §5 "Time"): the host's clocks, kept current by a
 * host thread every tick_ns, read inside the enclave without an exit. A
 * seqlock: the host makes seq odd, writes the fields, makes it even again
 * (release); the enclave copies the fields between two reads of seq and
 * uses the copy only if both are the same even value. Every value is the
 * host's and untrusted: the enclave checks the copy's ranges and clamps its
 * monotonic clocks so that they never go back. With SCONE_TIME_TSC, tsc is
 * the host's RDTSC at the sample and ns = ((now - tsc) * tsc_mult) >> 32
 * extrapolates it (used only where RDTSC is legal in the enclave).
 * ABI — do not reorder.
 */
#define SCONE_TIME_MAGIC 0x454d4954454e4353ull /* "SCNETIME" */
#define SCONE_TIME_TSC 1u
struct scone_time_page {
	uint64_t magic;            /* 0: SCONE_TIME_MAGIC */
	uint32_t seq;              /* 8: odd while the host writes */
	uint32_t flags;            /* 12: SCONE_TIME_* */
	uint64_t tick_ns;          /* 16: the host's update period */
	uint64_t realtime;         /* 24: ns, CLOCK_REALTIME */
	uint64_t monotonic;        /* 32: ns, CLOCK_MONOTONIC */
	uint64_t boottime;         /* 40: ns, CLOCK_BOOTTIME */
	uint64_t monotonic_raw;    /* 48: ns, CLOCK_MONOTONIC_RAW */
	uint64_t tsc;              /* 56: host RDTSC at the sample */
	uint64_t tsc_mult;         /* 64: ns per cycle, 32.32 fixed point */
	uint32_t idle;             /* 72: enclave -> host: every ethread sleeps outside */
	uint32_t parked;           /* 76: host -> enclave: the sampling thread stopped
				    * (futex on idle wakes it); read the host's clock */
	uint64_t pad[6];           /* 80: to a cache line pair */
};
_Static_assert(sizeof(struct scone_time_page) == 128, "time ABI");
_Static_assert(offsetof(struct scone_time_page, realtime) == 24, "time ABI");
_Static_assert(offsetof(struct scone_time_page, parked) == 76, "time ABI");

/* reserved[SCONE_START_CPUID]: struct scone_cpuid * (host memory): the
 * CPUID leaves the enclave answers CPUID with (it raises #UD inside an
 * enclave, and the exception handler emulates it). Untrusted: copied at
 * START and checked against what the enclave itself depends on. */
#define SCONE_START_CPUID 4
#define SCONE_CPUID_LEAVES 48
struct scone_cpuid_leaf {
	uint32_t leaf, subleaf, eax, ebx, ecx, edx;
};
struct scone_cpuid {
	uint32_t count;
	uint32_t pad;
	struct scone_cpuid_leaf l[SCONE_CPUID_LEAVES];
};
_Static_assert(sizeof(struct scone_cpuid_leaf) == 24, "cpuid ABI");

/* Signals the host forwards (issue 5): the enclave asks for a signal with
 * the OCALL below once the application installs a handler; the host's
 * handler puts the siginfo it got in the ring (or, when the ring is full,
 * sets the signal's bit in pending: the siginfo is lost, the signal is
 * not) and wakes a sleeping ethread (syscall area enclave_wake). The
 * enclave takes entries and bits and runs only the signals it asked for:
 * any other is a forged signal, logged and dropped.
 *
 * The ring: the host reserves slot tail (CAS on tail, refused while
 * tail - head == SCONE_SIGNAL_RING), fills it and stores seq = tail + 1
 * last (release); the enclave consumes in order from its own copy of head,
 * copies a slot whose seq is right, then publishes head + 1. Everything in
 * the box is untrusted: the enclave checks signo and copies each slot once. */
#define SCONE_SIGNAL_RING 64
struct scone_signal_info {         /* ABI — do not reorder */
	uint32_t seq;              /* slot number + 1, stored last by the host */
	int32_t signo;
	int32_t code;              /* si_code */
	int32_t errno_;
	uint8_t fields[48];        /* siginfo_t bytes 16..63: si_pid, si_uid, si_value, ... */
};
_Static_assert(sizeof(struct scone_signal_info) == 64, "signal ABI");

struct scone_signal_box {          /* ABI — do not reorder */
	uint64_t pending;          /* bit sig-1: a signal whose siginfo did not fit */
	uint64_t head;             /* written by the enclave */
	uint64_t tail;             /* written by the host */
	uint64_t pad[5];
	struct scone_signal_info ring[SCONE_SIGNAL_RING];
};
_Static_assert(sizeof(struct scone_signal_box) == 64 + 64 * SCONE_SIGNAL_RING, "signal ABI");
/* OCALL number (above every Linux one): args[0] = signal, args[1] = ON to
 * forward it, OFF to stop. For the fault signals (SIGILL, SIGBUS, SIGFPE,
 * SIGSEGV) the enclave mirrors no disposition and says OFF (SIG_DFL) or IGN
 * here instead. The host answers 0 or -errno. */
#define SCONE_OCALL_SIGFORWARD 1025
#define SCONE_SIGFORWARD_OFF 0
#define SCONE_SIGFORWARD_ON 1
#define SCONE_SIGFORWARD_IGN 2

/* reserved[SCONE_START_HWM]: struct scone_hwm * (host memory, 64-byte
 * aligned), or 0. The enclave keeps its high-water marks there as they
 * rise, so that the starter can write them out at any end of the process
 * (exit, abort, a fatal signal, a stack overflow) without entering it. They
 * are sizes only, nothing secret; a host that changes them only misleads
 * itself. One writer per field: the enclave; the starter reads. */
#define SCONE_START_HWM 6
#define SCONE_HWM_SCAN 1ull        /* flags (host -> enclave): scan the stacks at exit */
struct scone_hwm {
	uint64_t flags;            /* SCONE_HWM_*, set by the host before START */
	uint64_t final;            /* 1 once the enclave has put its exit-time figures */
	uint64_t heap_size;        /* the signed heap, bytes */
	uint64_t heap_peak;        /* peak bytes of the heap in use (brk + mmap + the
	                            * runtime's own, with the page bitmap) */
	uint64_t heap_refused;     /* the largest request refused for want of heap, bytes */
	uint64_t stack_size;       /* the signed stack per TCS, bytes */
	uint64_t lthread_stack_peak; /* deepest pthread stack seen (sampled), bytes */
	uint64_t arena_peak;       /* most bytes of one arena unit used by one call */
	uint64_t arena_unit;       /* bytes in one arena unit */
	uint32_t tcs_count;
	uint32_t ethreads;         /* ethreads started (the scheduler's, in use) */
	uint32_t lthreads_peak;    /* most lthreads alive at once (main included) */
	uint32_t pad;
	uint64_t stack_peak[SCONE_MAX_TCS]; /* TCS i: bytes of its stack used */
};
_Static_assert(offsetof(struct scone_hwm, stack_peak) == 88, "hwm ABI");
/* SIM evidence (scone_cc/cas/PROTOCOL.md §3.1): in SIM the starter plays the
 * CPU and the quoting enclave. args[0] = a host buffer of args[1] bytes
 * holding the 64-byte REPORTDATA; the host writes back the 432-byte REPORT
 * it builds from the SECS and SIGSTRUCT it measured and initialised itself
 * (never from what the enclave says), then the SIM attestation key (PEM) it
 * signs with, and answers their total length or -errno (-ENOENT: no key;
 * -EPERM: not SIM). The enclave signs with that key (the starter carries no
 * ECDSA; see runtime/shield/cas/README.md). */
#define SCONE_OCALL_SIM_QUOTE 1026
/* No SIM key yet: args[0] = a host buffer holding a new key's PEM (made in
 * the enclave), args[1] its length; the host stores it 0600 where
 * `scone-cas sim-key` keeps it, unless another start made one first. 0 or
 * -errno. */
#define SCONE_OCALL_SIM_KEY_CREATE 1027
#define SCONE_SIM_REPORT_SIZE 432

struct scone_start_args {
	uint64_t argc;
	uint64_t argv;             /* char *[argc + 1], host memory */
	uint64_t envp;             /* char *[], NULL-terminated, host memory */
	uint64_t ocall;            /* struct scone_ocall * for this thread, host memory */
	uint64_t flags;            /* SCONE_START_* */
	uint64_t hwcap;
	uint64_t hwcap2;
	uint64_t reserved[9];      /* zero */
};
_Static_assert(sizeof(struct scone_start_args) == 128, "start ABI");

struct scone_ocall {               /* one synchronous system call, host memory */
	int64_t nr;
	int64_t args[6];
	int64_t ret;
};
_Static_assert(sizeof(struct scone_ocall) == 64, "ocall ABI");

struct scone_abort {
	char message[256];
};

#endif
