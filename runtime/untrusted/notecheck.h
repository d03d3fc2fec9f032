/* Strict validation of the .note.scone section (runtime/include/scone/note.h). */
#ifndef SCONE_NOTECHECK_H
#define SCONE_NOTECHECK_H

#include <stddef.h>
#include <stdint.h>

#include <scone/enclave_abi.h>
#include <scone/note.h>

struct scone_note {
	struct scone_note_header hdr;          /* aligned copies */
	struct scone_note_run *runs;           /* malloc'ed, hdr.nruns */
	const uint8_t *blob;                   /* into the file */
	const uint8_t *sigstruct;              /* into the file, 1808 bytes */
	struct scone_enclave_config config;    /* copy of the config page */
	const uint8_t *fs_policy;              /* into the file: the rest of the config page */
	size_t fs_policy_size;                 /* 0: no file-system policy */
	const uint8_t *image;
	size_t image_size;
};

/*
 * note.h: parse the section (exactly one note, name "SCONE", type
 * SCONE_NOTE_ENCLAVE) and accept it only in its canonical encoding: magic,
 * version, offsets that follow one another exactly, every run in range and
 * within SIZE, no two runs overlapping, SECINFO flags that EADD accepts
 * (sgx-spec.md §2, §7), unmeasured runs zero-sourced, the config run where
 * config_offset says, reserved bytes zero. Returns 0, or -1 with one
 * sentence in err naming the field. The image's bytes are not read here:
 * scone_load hashes them alongside the measurement and then calls
 * scone_note_check_image.
 */
int scone_note_parse(const uint8_t *sec, size_t secsize, const uint8_t *image,
		     size_t image_size, struct scone_note *n, char *err, size_t errlen);
/*
 * The rest of the note's checks, given the image's SHA-256: equal to the
 * config page's, and image runs equal to the image's PT_LOADs (which are
 * read only once the digest has vouched for them). Returns 0, or -1 with
 * one sentence in err.
 */
int scone_note_check_image(const struct scone_note *n, const uint8_t digest[32], char *err, size_t errlen);
void scone_note_free(struct scone_note *n);

/* Bytes of page p (0-based) of run r: 4096 bytes, or NULL for a zero page.
 * *tail is set when the page is partly past src_size (caller pads). */
const uint8_t *scone_note_page(const struct scone_note *n, const struct scone_note_run *r,
			       uint32_t p, size_t *have);

#endif
