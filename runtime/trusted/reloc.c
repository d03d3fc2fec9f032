/*
 * Self-relocation (enclave_abi.h: "first START relocates the image"). Runs
 * before anything may use the GOT, TLS or a libc function: it touches only
 * its arguments.
 */
#include "reloc.h"

static int in_rw(uint64_t off, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi - 8 && hi >= 8 && (off & 7) == 0;
}

static int apply_rela(uintptr_t base, const Elf64_Rela *r, uint64_t size,
		      uint64_t lo, uint64_t hi)
{
	for (uint64_t i = 0; i < size / sizeof *r; i++) {
		uint32_t type = ELF64_R_TYPE(r[i].r_info);
		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE)
			return SCONE_RELOC_BAD_TYPE;
		if (!in_rw(r[i].r_offset, lo, hi))
			return SCONE_RELOC_OUT_OF_RANGE;
		*(uint64_t *)(base + r[i].r_offset) = base + r[i].r_addend;
	}
	return SCONE_RELOC_OK;
}

/* RELR (the psABI "relative relocation" encoding): an address word, then
 * bitmaps (low bit 1) covering the 63 words that follow. */
static int apply_relr(uintptr_t base, const uint64_t *r, uint64_t size,
		      uint64_t lo, uint64_t hi)
{
	uint64_t where = 0;
	for (uint64_t i = 0; i < size / 8; i++) {
		uint64_t e = r[i];
		if (!(e & 1)) {
			if (!in_rw(e, lo, hi))
				return SCONE_RELOC_OUT_OF_RANGE;
			*(uint64_t *)(base + e) += base;
			where = e + 8;
			continue;
		}
		for (uint64_t bit = 0, bits = e >> 1; bits; bit++, bits >>= 1) {
			if (!(bits & 1))
				continue;
			uint64_t off = where + bit * 8;
			if (!in_rw(off, lo, hi))
				return SCONE_RELOC_OUT_OF_RANGE;
			*(uint64_t *)(base + off) += base;
		}
		where += 63 * 8;
	}
	return SCONE_RELOC_OK;
}

int __scone_relocate(uintptr_t base, const Elf64_Dyn *dyn, uint64_t rw_lo, uint64_t rw_hi)
{
	uint64_t rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
	uint64_t relr = 0, relrsz = 0, relrent = 8;
	int have_rela = 0, have_relr = 0;

	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_RELA: rela = dyn->d_un.d_ptr; have_rela = 1; break;
		case DT_RELASZ: relasz = dyn->d_un.d_val; break;
		case DT_RELAENT: relaent = dyn->d_un.d_val; break;
		case DT_RELR: relr = dyn->d_un.d_ptr; have_relr = 1; break;
		case DT_RELRSZ: relrsz = dyn->d_un.d_val; break;
		case DT_RELRENT: relrent = dyn->d_un.d_val; break;
		case DT_REL: case DT_TEXTREL: case DT_JMPREL:
			return SCONE_RELOC_BAD_TABLE;
		}
	}
	if (relaent != sizeof(Elf64_Rela) || relrent != 8)
		return SCONE_RELOC_BAD_TABLE;
	if ((relasz && !have_rela) || (relrsz && !have_relr))
		return SCONE_RELOC_BAD_TABLE;
	int err = SCONE_RELOC_OK;
	if (relasz)
		err = apply_rela(base, (const Elf64_Rela *)(base + rela), relasz, rw_lo, rw_hi);
	if (!err && relrsz)
		err = apply_relr(base, (const uint64_t *)(base + relr), relrsz, rw_lo, rw_hi);
	return err;
}
