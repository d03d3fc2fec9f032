/* Finding .note.scone and .scone.enclave in the starter's own ELF file. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "selfexe.h"

static int in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static int find(const struct scone_selfexe *x, const Elf64_Shdr *sh, unsigned n,
		const Elf64_Shdr *strtab, const char *name, const Elf64_Shdr **out)
{
	*out = NULL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = strtab->sh_offset + sh[i].sh_name;
		size_t len = strlen(name) + 1;
		if (sh[i].sh_name >= strtab->sh_size || strtab->sh_size - sh[i].sh_name < len)
			continue;
		if (memcmp(x->map + at, name, len))
			continue;
		if (*out)
			return -1;     /* two sections of that name: ambiguous */
		*out = &sh[i];
	}
	return 0;
}

int scone_selfexe_open(const char *path, const char *shown, struct scone_selfexe *x,
		       char *err, size_t errlen)
{
	memset(x, 0, sizeof *x);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read the program file %s: %m", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	x->size = (size_t)st.st_size;
	void *m = x->size ? mmap(NULL, x->size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the program file %s: %m", path);
		return -1;
	}
	x->map = m;

	const Elf64_Ehdr *eh = (const void *)x->map;
	if (x->size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), x->size) ||
	    eh->e_shoff % 8 || eh->e_shstrndx >= eh->e_shnum) {
		snprintf(err, errlen, "%s: not a scone binary (malformed ELF section headers); build it with scone-gcc", shown);
		goto fail;
	}
	const Elf64_Shdr *sh = (const void *)(x->map + eh->e_shoff);
	const Elf64_Shdr *strtab = &sh[eh->e_shstrndx];
	if (!in_file(strtab->sh_offset, strtab->sh_size, x->size)) {
		snprintf(err, errlen, "%s: not a scone binary (section names out of the file); build it with scone-gcc", shown);
		goto fail;
	}
	const Elf64_Shdr *note, *image;
	if (find(x, sh, eh->e_shnum, strtab, ".note.scone", &note) ||
	    find(x, sh, eh->e_shnum, strtab, ".scone.enclave", &image)) {
		snprintf(err, errlen, "%s: two .note.scone or .scone.enclave sections; rebuild it with scone-gcc", shown);
		goto fail;
	}
	if (!note || !image) {
		snprintf(err, errlen, "%s: not a scone binary (no %s section); build it with scone-gcc, or run scone-sign sign on it",
			 shown, !note ? ".note.scone" : ".scone.enclave");
		goto fail;
	}
	if (note->sh_type != SHT_NOTE || image->sh_type == SHT_NOBITS ||
	    !in_file(note->sh_offset, note->sh_size, x->size) ||
	    !in_file(image->sh_offset, image->sh_size, x->size)) {
		snprintf(err, errlen, "%s: the .note.scone or .scone.enclave section lies outside the file; the binary is truncated or corrupted", shown);
		goto fail;
	}
	x->note = x->map + note->sh_offset;
	x->note_size = note->sh_size;
	x->image = x->map + image->sh_offset;
	x->image_size = image->sh_size;
	return 0;
fail:
	scone_selfexe_close(x);
	return -1;
}

void scone_selfexe_close(struct scone_selfexe *x)
{
	if (x->map)
		munmap((void *)x->map, x->size);
	memset(x, 0, sizeof *x);
}
