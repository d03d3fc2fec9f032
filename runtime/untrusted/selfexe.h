/* The starter's own file: where the enclave image and its note live. */
#ifndef SCONE_SELFEXE_H
#define SCONE_SELFEXE_H

#include <stddef.h>
#include <stdint.h>

struct scone_selfexe {
	const uint8_t *map;        /* the whole file, read-only */
	size_t size;
	const uint8_t *note;       /* section .note.scone */
	size_t note_size;
	const uint8_t *image;      /* section .scone.enclave */
	size_t image_size;
};

/*
 * Map path (named shown in messages) and find the two sections through the section headers, every
 * offset and size checked against the file. Returns 0, or -1 with one
 * sentence in err.
 */
int scone_selfexe_open(const char *path, const char *shown, struct scone_selfexe *x,
		       char *err, size_t errlen);
void scone_selfexe_close(struct scone_selfexe *x);

#endif
