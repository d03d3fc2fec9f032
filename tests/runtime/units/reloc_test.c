/* Self-relocation on the host: a hand-made image with RELA and RELR tables;
 * expected words computed by hand from the psABI definitions. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reloc.h"

#define P 4096ul
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); return 1; } } while (0)

static uint64_t *word(uint8_t *img, uint64_t off)
{
	return (uint64_t *)(img + off);
}

int main(void)
{
	uint8_t *img = aligned_alloc(P, 3 * P);
	memset(img, 0, 3 * P);
	uintptr_t base = (uintptr_t)img;
	Elf64_Rela *rela = (Elf64_Rela *)(img + 0x100);
	rela[0] = (Elf64_Rela){ 0x2000, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0x123 };
	rela[1] = (Elf64_Rela){ 0x2ff8, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0x1000 };
	rela[2] = (Elf64_Rela){ 0, ELF64_R_INFO(0, R_X86_64_NONE), 0 };
	uint64_t *relr = (uint64_t *)(img + 0x200);
	relr[0] = 0x2010;                  /* relocate 0x2010, then bitmaps from 0x2018 */
	relr[1] = (0x5ull << 1) | 1;       /* bits 0 and 2: 0x2018 and 0x2028 */
	relr[2] = (0x1ull << 1) | 1;       /* next 63 words start at 0x2018 + 63*8 = 0x2210 */
	*word(img, 0x2010) = 0x10;
	*word(img, 0x2018) = 0x20;
	*word(img, 0x2028) = 0x30;
	*word(img, 0x2210) = 0x40;
	*word(img, 0x2020) = 0x99;         /* bit 1 clear: untouched */
	Elf64_Dyn *dyn = (Elf64_Dyn *)(img + 0x300);
	dyn[0] = (Elf64_Dyn){ DT_RELA, { 0x100 } };
	dyn[1] = (Elf64_Dyn){ DT_RELASZ, { 3 * sizeof(Elf64_Rela) } };
	dyn[2] = (Elf64_Dyn){ DT_RELAENT, { sizeof(Elf64_Rela) } };
	dyn[3] = (Elf64_Dyn){ DT_RELR, { 0x200 } };
	dyn[4] = (Elf64_Dyn){ DT_RELRSZ, { 24 } };
	dyn[5] = (Elf64_Dyn){ DT_RELRENT, { 8 } };
	dyn[6] = (Elf64_Dyn){ DT_NULL, { 0 } };

	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_OK);
	CHECK(*word(img, 0x2000) == base + 0x123);
	CHECK(*word(img, 0x2ff8) == base + 0x1000);
	CHECK(*word(img, 0x2010) == base + 0x10);
	CHECK(*word(img, 0x2018) == base + 0x20);
	CHECK(*word(img, 0x2028) == base + 0x30);
	CHECK(*word(img, 0x2210) == base + 0x40);
	CHECK(*word(img, 0x2020) == 0x99);

	/* A target outside the writable range [0x2000, 0x3000). */
	rela[2] = (Elf64_Rela){ 0x1ff8, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0 };
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_OUT_OF_RANGE);
	rela[2] = (Elf64_Rela){ 0x3000, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0 };
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_OUT_OF_RANGE);
	/* A symbolic relocation: nothing inside the enclave can resolve it. */
	rela[2] = (Elf64_Rela){ 0x2100, ELF64_R_INFO(1, R_X86_64_64), 0 };
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_BAD_TYPE);
	/* RELR address entry out of range. */
	rela[2] = (Elf64_Rela){ 0, ELF64_R_INFO(0, R_X86_64_NONE), 0 };
	relr[0] = 0x3000;
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_OUT_OF_RANGE);
	/* A wrong entry size or a PLT table. */
	dyn[2].d_un.d_val = 16;
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_BAD_TABLE);
	dyn[2] = (Elf64_Dyn){ DT_JMPREL, { 0x100 } };
	CHECK(__scone_relocate(base, dyn, 0x2000, 0x3000) == SCONE_RELOC_BAD_TABLE);
	printf("reloc ok\n");
	return 0;
}
