/* Self-relocation of the static-pie enclave image (pure: testable on the host). */
#ifndef SCONE_TRUSTED_RELOC_H
#define SCONE_TRUSTED_RELOC_H

#include <elf.h>
#include <stdint.h>

/* psABI RELR; older elf.h files lack the tags. */
#ifndef DT_RELR
#define DT_RELRSZ 35
#define DT_RELR 36
#define DT_RELRENT 37
#endif

#define SCONE_RELOC_OK 0
#define SCONE_RELOC_BAD_TYPE 1      /* not R_X86_64_RELATIVE/NONE */
#define SCONE_RELOC_OUT_OF_RANGE 2  /* target outside the writable segment */
#define SCONE_RELOC_BAD_TABLE 3     /* RELAENT/RELRENT wrong, or a table missing */

/*
 * Apply the dynamic relocations of an image loaded at base: RELA entries of
 * type R_X86_64_RELATIVE (*(base+off) = base + addend) and the RELR bitmap
 * encoding (*(base+off) += base). Every target must lie in
 * [rw_lo, rw_hi) (offsets from base): SGX1 cannot write anywhere else.
 * dyn is the image's _DYNAMIC, already at its loaded address.
 */
int __scone_relocate(uintptr_t base, const Elf64_Dyn *dyn, uint64_t rw_lo, uint64_t rw_hi)
	__attribute__((visibility("hidden")));

#endif
