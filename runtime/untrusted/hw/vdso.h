/* Symbol lookup in the kernel's vDSO image (ELF64 dynamic symbol table). */
#ifndef SCONE_HW_VDSO_H
#define SCONE_HW_VDSO_H

/*
 * Address of the global function `name` with symbol version `version` in the
 * vDSO mapped at image (as getauxval(AT_SYSINFO_EHDR) gives it), or NULL.
 * A vDSO without version tables matches any version.
 */
void *scone_vdso_lookup(const void *image, const char *name, const char *version);
/* The same in this process's vDSO; NULL if there is none. */
void *scone_vdso_sym(const char *name, const char *version);

#endif
