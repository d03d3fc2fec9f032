/*
 * The `.note.scone` note of a scone binary: what the starter needs to build
 * the enclave, written by scone_cc/enclave/binfmt.py, read by the starter.
 * The enclave image ELF itself is the content of section `.scone.enclave`.
 *
 * Note: name "SCONE" (namesz 6), type SCONE_NOTE_ENCLAVE. Its descriptor is
 *
 *   struct scone_note_header
 *   struct scone_note_run runs[nruns]          (at runs_offset)
 *   blob[blob_size]                            (at blob_offset: content of
 *                                               generated pages: config,
 *                                               TCS, thread pages)
 *   SIGSTRUCT[1808]                            (at sigstruct_offset; all
 *                                               zero while unsigned)
 *
 * Every byte is bound: measured (ECREATE fields, runs, the content of
 * measured runs), hashed into the measured config page (the whole image
 * file: scone_enclave_config.image_sha256), or checked by the loader against
 * its one canonical encoding (magic, version, offsets that must follow one
 * another exactly, unmeasured runs that must be SCONE_SRC_ZERO with zero
 * src fields, config_offset equal to the config run, reserved bytes zero),
 * and the SIGSTRUCT by EINIT. A flipped byte anywhere makes the enclave
 * refuse to start.
 */
#ifndef SCONE_NOTE_H
#define SCONE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define SCONE_NOTE_NAME "SCONE"
#define SCONE_NOTE_ENCLAVE 0x53430001u
#define SCONE_NOTE_MAGIC 0x454e4353u      /* "SCNE" little-endian */
#define SCONE_NOTE_VERSION 1u
#define SCONE_SIGSTRUCT_SIZE 1808u

/*
 * What a reader accepts (notecheck.c; scone_cc/enclave/note.py validate
 * applies the same limits, held against these by tests/enclave/test_abi_offsets.py).
 */
#define SCONE_NOTE_MIN_SIZE (2ull * 4096)         /* enclave_size: power of two in [MIN, MAX] */
#define SCONE_NOTE_MAX_SIZE (1ull << 47)
#define SCONE_NOTE_MAX_SSA_FRAME_PAGES 64u
#define SCONE_NOTE_MAX_RUNS (1u << 20)

struct scone_note_header {
	uint32_t magic;            /* SCONE_NOTE_MAGIC */
	uint32_t version;          /* SCONE_NOTE_VERSION */
	uint64_t enclave_size;     /* SECS.SIZE: power of two */
	uint32_t ssa_frame_pages;  /* SECS.SSAFRAMESIZE */
	uint32_t nruns;
	uint32_t runs_offset;      /* from the start of the descriptor */
	uint32_t blob_offset;
	uint32_t blob_size;
	uint32_t sigstruct_offset;
	uint64_t image_size;       /* bytes of section .scone.enclave */
	uint64_t config_offset;    /* enclave offset of the config page */
	uint64_t reserved[4];      /* zero */
};
_Static_assert(sizeof(struct scone_note_header) == 88, "note ABI");

enum scone_run_source {
	SCONE_SRC_ZERO = 0,        /* zero pages (src_offset = src_size = 0) */
	SCONE_SRC_IMAGE = 1,       /* bytes of the image file */
	SCONE_SRC_BLOB = 2,        /* bytes of the note's blob */
};

struct scone_note_run {
	uint64_t offset;           /* enclave offset, 4 KiB aligned */
	uint32_t count;            /* pages */
	uint16_t secinfo;          /* SECINFO.FLAGS: (type << 8) | perms */
	uint8_t measured;          /* 1: EEXTEND all 16 chunks of every page */
	uint8_t source;            /* enum scone_run_source */
	uint64_t src_offset;
	uint64_t src_size;         /* <= count * 4096; the rest is zero */
};
_Static_assert(sizeof(struct scone_note_run) == 32, "note ABI");

#endif
