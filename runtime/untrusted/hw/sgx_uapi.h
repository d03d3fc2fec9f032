/*
 * The Linux SGX UAPI subset the HW backend uses (sgx-spec.md §7; the kernel's
 * arch/x86/include/uapi/asm/sgx.h). Spelled out here, numbers included, so
 * the starter builds against any libc headers; tests compare every number
 * and offset with the installed <asm/sgx.h>.
 */
#ifndef SCONE_HW_SGX_UAPI_H
#define SCONE_HW_SGX_UAPI_H

#include <stddef.h>
#include <stdint.h>

#define SCONE_SGX_IOC_ENCLAVE_CREATE    0x4008A400u   /* _IOW(0xA4, 0x00, 8 B)  */
#define SCONE_SGX_IOC_ENCLAVE_ADD_PAGES 0xC030A401u   /* _IOWR(0xA4, 0x01, 48 B) */
#define SCONE_SGX_IOC_ENCLAVE_INIT      0x4008A402u   /* _IOW(0xA4, 0x02, 8 B)  */
#define SCONE_SGX_PAGE_MEASURE 0x01u

/* ENCLU leaves as __vdso_sgx_enter_enclave takes and reports them. */
#define SCONE_ENCLU_EENTER 2u
#define SCONE_ENCLU_ERESUME 3u
#define SCONE_ENCLU_EEXIT 4u

struct scone_sgx_enclave_create {
	uint64_t src;              /* 4096-byte SECS, page aligned */
};

struct scone_sgx_enclave_add_pages {
	uint64_t src;              /* page aligned */
	uint64_t offset;           /* from the enclave base, page aligned */
	uint64_t length;           /* multiple of 4096 */
	uint64_t secinfo;          /* 64-byte SECINFO, 64-byte aligned */
	uint64_t flags;            /* SCONE_SGX_PAGE_MEASURE */
	uint64_t count;            /* out: bytes added */
};

struct scone_sgx_enclave_init {
	uint64_t sigstruct;
};

/* ABI of the vDSO entry (sgx-spec.md §7): reserved must be zero. */
struct scone_sgx_enclave_run {
	uint64_t tcs;
	uint32_t function;
	uint16_t exception_vector;
	uint16_t exception_error_code;
	uint64_t exception_addr;
	uint64_t user_handler;
	uint64_t user_data;
	uint8_t reserved[216];
};

_Static_assert(sizeof(struct scone_sgx_enclave_create) == 8, "UAPI");
_Static_assert(sizeof(struct scone_sgx_enclave_add_pages) == 48, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_add_pages, count) == 40, "UAPI");
_Static_assert(sizeof(struct scone_sgx_enclave_init) == 8, "UAPI");
_Static_assert(sizeof(struct scone_sgx_enclave_run) == 256, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, function) == 8, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, exception_vector) == 12, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, exception_error_code) == 14, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, exception_addr) == 16, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, user_handler) == 24, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, user_data) == 32, "UAPI");
_Static_assert(offsetof(struct scone_sgx_enclave_run, reserved) == 40, "UAPI");

typedef int scone_vdso_sgx_enter_fn(unsigned long rdi, unsigned long rsi, unsigned long rdx,
				    unsigned int function, unsigned long r8, unsigned long r9,
				    struct scone_sgx_enclave_run *run);

#endif
