/*
 * Find __vdso_sgx_enter_enclave (sgx-spec.md §7) the way the kernel's own
 * parse_vdso.c does: the vDSO is a prelinked ELF, so its dynamic entries and
 * symbol values are link-time addresses, offset by where it was mapped.
 */
#include <elf.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include "vdso.h"

struct vdso_tables {
	uintptr_t bias;
	const Elf64_Sym *sym;
	const char *str;
	const Elf64_Word *hash;
	const Elf64_Word *gnu_hash;
	const Elf64_Versym *versym;
	const Elf64_Verdef *verdef;
};

static int read_tables(const void *image, struct vdso_tables *t)
{
	const Elf64_Ehdr *eh = image;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	int have_load = 0;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	memset(t, 0, sizeof(*t));
	ph = (const Elf64_Phdr *)((const char *)image + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			t->bias = (uintptr_t)image + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)((const char *)image + ph[i].p_offset);
		}
	}
	if (!have_load || !dyn)
		return -1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = t->bias + dyn->d_un.d_ptr;

		switch (dyn->d_tag) {
		case DT_SYMTAB: t->sym = (const Elf64_Sym *)p; break;
		case DT_STRTAB: t->str = (const char *)p; break;
		case DT_HASH: t->hash = (const Elf64_Word *)p; break;
		case DT_GNU_HASH: t->gnu_hash = (const Elf64_Word *)p; break;
		case DT_VERSYM: t->versym = (const Elf64_Versym *)p; break;
		case DT_VERDEF: t->verdef = (const Elf64_Verdef *)p; break;
		}
	}
	return t->sym && t->str && (t->hash || t->gnu_hash) ? 0 : -1;
}

/* Symbol count: nchain of DT_HASH, or one past the last GNU hash chain. */
static uint32_t symbol_count(const struct vdso_tables *t)
{
	const Elf64_Word *g = t->gnu_hash;
	uint32_t nbuckets, symoffset, bloom, last = 0;
	const Elf64_Word *buckets, *chain;

	if (t->hash)
		return t->hash[1];
	nbuckets = g[0];
	symoffset = g[1];
	bloom = g[2];
	buckets = g + 4 + 2 * bloom;           /* bloom words are 64-bit */
	chain = buckets + nbuckets;
	for (uint32_t b = 0; b < nbuckets; b++)
		if (buckets[b] > last)
			last = buckets[b];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last - symoffset] & 1))
		last++;
	return last + 1;
}

static int version_matches(const struct vdso_tables *t, uint32_t i, const char *version)
{
	const Elf64_Verdef *vd = t->verdef;
	unsigned int want;

	if (!version || !t->versym || !vd)
		return 1;
	want = t->versym[i] & 0x7fff;
	for (;;) {
		if (!(vd->vd_flags & VER_FLG_BASE) && (vd->vd_ndx & 0x7fff) == want) {
			const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)vd + vd->vd_aux);

			return strcmp(t->str + aux->vda_name, version) == 0;
		}
		if (!vd->vd_next)
			return 0;
		vd = (const Elf64_Verdef *)((const char *)vd + vd->vd_next);
	}
}

void *scone_vdso_lookup(const void *image, const char *name, const char *version)
{
	struct vdso_tables t;
	uint32_t n;

	if (!image || read_tables(image, &t))
		return NULL;
	n = symbol_count(&t);
	for (uint32_t i = 0; i < n; i++) {
		const Elf64_Sym *s = &t.sym[i];
		unsigned bind = ELF64_ST_BIND(s->st_info);

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
			continue;
		if (bind != STB_GLOBAL && bind != STB_WEAK)
			continue;
		if (strcmp(t.str + s->st_name, name) || !version_matches(&t, i, version))
			continue;
		return (void *)(t.bias + s->st_value);
	}
	return NULL;
}

void *scone_vdso_sym(const char *name, const char *version)
{
	return scone_vdso_lookup((const void *)getauxval(AT_SYSINFO_EHDR), name, version);
}
