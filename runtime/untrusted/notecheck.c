/* .note.scone: one canonical encoding, every byte checked (note.h). */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notecheck.h"

#define PAGE 4096ull
#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

static int zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* SECINFO.FLAGS that EADD and the Linux driver accept (sgx-spec.md §2, §7). */
static const char *secinfo_problem(uint16_t s)
{
	unsigned type = s >> 8, perm = s & 0xff;
	if (type == 1)
		return perm ? "a TCS page must have SECINFO 0x100 exactly" : NULL;
	if (type != 2)
		return "page type is neither PT_REG nor PT_TCS";
	if (perm & ~7u)
		return "reserved or SGX2 SECINFO bits are set";
	if ((perm & 2) && !(perm & 1))
		return "writable without readable";
	return NULL;
}

/*
 * An image run is canonical only as the PT_LOAD it copies: same file offset,
 * file size and address, and pages up to the end of its memory size. The
 * image is bound by the config page's SHA-256, so this binds src_size too
 * (the bytes just past p_filesz are often zero in the file, and a longer
 * src_size would otherwise measure the same).
 */
static int image_run_matches_load(const uint8_t *img, size_t size, const struct scone_note_run *r)
{
	Elf64_Ehdr eh;
	if (size < sizeof eh)
		return 0;
	memcpy(&eh, img, sizeof eh);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff > size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
		return 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_LOAD || ph.p_offset != r->src_offset)
			continue;
		return ph.p_filesz == r->src_size && ph.p_vaddr == r->offset &&
		       ph.p_memsz >= ph.p_filesz && ph.p_memsz <= (1ull << 47) &&
		       (ph.p_memsz + PAGE - 1) / PAGE == r->count;
	}
	return 0;
}

/*
 * TCS fields EADD forces to zero in the EPC (sgx-spec.md §1.2): they never
 * reach the measurement, so the only canonical value in the note is zero.
 */
static int tcs_forced_fields_zero(const uint8_t *src, uint64_t n)
{
	static const struct { unsigned at, len; } f[] = { { 0, 8 }, { 24, 4 }, { 40, 8 } };
	for (unsigned i = 0; i < sizeof f / sizeof f[0]; i++)
		for (unsigned k = f[i].at; k < f[i].at + f[i].len && k < n; k++)
			if (src[k])
				return 0;
	return n <= 8 || !(src[8] & 1);       /* FLAGS.DBGOPTIN */
}

int scone_note_parse(const uint8_t *sec, size_t secsize, const uint8_t *image,
		     size_t image_size, struct scone_note *n, char *err, size_t errlen)
{
	memset(n, 0, sizeof *n);
	uint32_t nh[3];
	if (secsize < 12)
		FAIL(".note.scone is truncated (%zu bytes)", secsize);
	memcpy(nh, sec, 12);
	if (nh[0] != sizeof SCONE_NOTE_NAME || memcmp(sec + 12, SCONE_NOTE_NAME, sizeof SCONE_NOTE_NAME) ||
	    nh[2] != SCONE_NOTE_ENCLAVE)
		FAIL(".note.scone does not hold a SCONE enclave note (name or type differ)");
	size_t desc_at = 12 + ((sizeof SCONE_NOTE_NAME + 3) & ~3u);
	uint64_t descsz = nh[1];
	if (desc_at + ((descsz + 3) & ~3ull) != secsize)
		FAIL(".note.scone: the note does not fill its section exactly (descsz %llu, section %zu bytes)",
		     (unsigned long long)descsz, secsize);
	if (!zero(sec + 12 + sizeof SCONE_NOTE_NAME, desc_at - 12 - sizeof SCONE_NOTE_NAME) ||
	    !zero(sec + desc_at + descsz, secsize - desc_at - descsz))
		FAIL(".note.scone: padding bytes are not zero");
	const uint8_t *d = sec + desc_at;
	struct scone_note_header *h = &n->hdr;
	if (descsz < sizeof *h)
		FAIL(".note.scone: descriptor shorter than its header");
	memcpy(h, d, sizeof *h);

	if (h->magic != SCONE_NOTE_MAGIC || h->version != SCONE_NOTE_VERSION)
		FAIL(".note.scone: magic 0x%x version %u, expected 0x%x version %u (built by another scone version?)",
		     h->magic, h->version, SCONE_NOTE_MAGIC, SCONE_NOTE_VERSION);
	if (h->enclave_size < SCONE_NOTE_MIN_SIZE || (h->enclave_size & (h->enclave_size - 1)) ||
	    h->enclave_size > SCONE_NOTE_MAX_SIZE)
		FAIL(".note.scone: enclave_size 0x%llx is not a power of two in [8 KiB, 128 TiB]",
		     (unsigned long long)h->enclave_size);
	if (h->ssa_frame_pages < 1 || h->ssa_frame_pages > SCONE_NOTE_MAX_SSA_FRAME_PAGES)
		FAIL(".note.scone: ssa_frame_pages %u outside [1, %u]", h->ssa_frame_pages,
		     SCONE_NOTE_MAX_SSA_FRAME_PAGES);
	if (h->nruns < 1 || h->nruns > SCONE_NOTE_MAX_RUNS)
		FAIL(".note.scone: nruns %u outside [1, 2^20]", h->nruns);
	if (h->runs_offset != sizeof *h)
		FAIL(".note.scone: runs_offset %u, expected %zu", h->runs_offset, sizeof *h);
	if (h->blob_offset != h->runs_offset + (uint64_t)h->nruns * sizeof(struct scone_note_run))
		FAIL(".note.scone: blob_offset %u does not follow the runs", h->blob_offset);
	if (h->sigstruct_offset != (uint64_t)h->blob_offset + h->blob_size)
		FAIL(".note.scone: sigstruct_offset %u does not follow the blob", h->sigstruct_offset);
	if ((uint64_t)h->sigstruct_offset + SCONE_SIGSTRUCT_SIZE != descsz)
		FAIL(".note.scone: descriptor is %llu bytes, expected %llu",
		     (unsigned long long)descsz, (unsigned long long)h->sigstruct_offset + SCONE_SIGSTRUCT_SIZE);
	if (h->image_size != image_size)
		FAIL(".note.scone: image_size %llu but section .scone.enclave has %zu bytes",
		     (unsigned long long)h->image_size, image_size);
	if (!zero(h->reserved, sizeof h->reserved))
		FAIL(".note.scone: reserved header bytes are not zero");

	n->runs = calloc(h->nruns, sizeof *n->runs);
	if (!n->runs)
		FAIL("out of memory reading .note.scone");
	memcpy(n->runs, d + h->runs_offset, h->nruns * sizeof *n->runs);
	n->blob = d + h->blob_offset;
	n->sigstruct = d + h->sigstruct_offset;
	n->image = image;
	n->image_size = image_size;

	const struct scone_note_run *cfg = NULL;
	uint64_t blob_next = 0;
	for (uint32_t i = 0; i < h->nruns; i++) {
		const struct scone_note_run *r = &n->runs[i];
		const char *why = secinfo_problem(r->secinfo);
		uint64_t bytes = (uint64_t)r->count * PAGE;
		if (r->offset % PAGE || !r->count || r->offset >= h->enclave_size ||
		    bytes > h->enclave_size - r->offset)
			FAIL(".note.scone: run %u (offset 0x%llx, %u pages) is not page-aligned inside SIZE", i,
			     (unsigned long long)r->offset, r->count);
		if (why)
			FAIL(".note.scone: run %u: SECINFO 0x%x: %s", i, r->secinfo, why);
		if (r->measured > 1 || r->source > SCONE_SRC_BLOB)
			FAIL(".note.scone: run %u: measured %u / source %u out of range", i, r->measured, r->source);
		if ((r->source == SCONE_SRC_ZERO || !r->measured) &&
		    (r->source != SCONE_SRC_ZERO || r->src_offset || r->src_size))
			FAIL(".note.scone: run %u: an unmeasured or zero run must be SCONE_SRC_ZERO with zero src fields", i);
		if (r->source != SCONE_SRC_ZERO) {
			uint64_t limit = r->source == SCONE_SRC_IMAGE ? image_size : h->blob_size;
			if (!r->src_size || r->src_size > bytes || r->src_offset > limit ||
			    r->src_size > limit - r->src_offset)
				FAIL(".note.scone: run %u: source bytes [0x%llx, +0x%llx) outside the %s", i,
				     (unsigned long long)r->src_offset, (unsigned long long)r->src_size,
				     r->source == SCONE_SRC_IMAGE ? "image" : "blob");
		}
		if (r->source == SCONE_SRC_BLOB) {
			/* The blob runs tile the blob, in run order: no byte unbound. */
			if (r->src_offset != blob_next)
				FAIL(".note.scone: run %u: blob bytes start at 0x%llx, expected 0x%llx (blob runs must tile the blob in order)",
				     i, (unsigned long long)r->src_offset, (unsigned long long)blob_next);
			blob_next = r->src_offset + r->src_size;
			if (r->secinfo == 0x100 && !tcs_forced_fields_zero(d + h->blob_offset + r->src_offset, r->src_size))
				FAIL(".note.scone: run %u: TCS STATE, CSSA, AEP or DBGOPTIN is not zero", i);
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct scone_note_run *q = &n->runs[j];
			if (r->offset < q->offset + (uint64_t)q->count * PAGE && q->offset < r->offset + bytes)
				FAIL(".note.scone: runs %u and %u overlap", j, i);
		}
		if (r->offset == h->config_offset)
			cfg = r;
	}
	if (blob_next != h->blob_size)
		FAIL(".note.scone: the blob runs cover 0x%llx bytes of a 0x%x-byte blob",
		     (unsigned long long)blob_next, h->blob_size);
	if (!cfg || cfg->count != 1 || cfg->source != SCONE_SRC_BLOB || !cfg->measured ||
	    cfg->secinfo != 0x201 || cfg->src_size < sizeof n->config)
		FAIL(".note.scone: config_offset 0x%llx is not a measured read-only page of the blob",
		     (unsigned long long)h->config_offset);
	memcpy(&n->config, n->blob + cfg->src_offset, sizeof n->config);
	n->fs_policy = n->blob + cfg->src_offset + sizeof n->config;
	n->fs_policy_size = cfg->src_size > SCONE_CONFIG_FS_OFFSET ? cfg->src_size - SCONE_CONFIG_FS_OFFSET : 0;
	const struct scone_enclave_config *c = &n->config;
	if (c->magic != SCONE_CONFIG_MAGIC || c->version != SCONE_CONFIG_VERSION ||
	    c->enclave_size != h->enclave_size || c->image_end != h->config_offset ||
	    c->tcs_count < 1 || c->tcs_count > SCONE_MAX_TCS || c->ssa_frame_pages != h->ssa_frame_pages)
		FAIL(".note.scone: the config page disagrees with the note (magic, version, size, TCS count or SSA)");
	for (uint32_t t = 0; t < c->tcs_count; t++) {
		int found = 0;
		for (uint32_t i = 0; i < h->nruns; i++)
			found |= n->runs[i].secinfo == 0x100 && c->threads[t].tcs >= n->runs[i].offset &&
				 c->threads[t].tcs < n->runs[i].offset + (uint64_t)n->runs[i].count * PAGE &&
				 c->threads[t].tcs % PAGE == 0;
		if (!found)
			FAIL(".note.scone: thread %u's TCS offset 0x%llx is not a TCS page", t,
			     (unsigned long long)c->threads[t].tcs);
	}
	return 0;
fail:
	scone_note_free(n);
	return -1;
}

int scone_note_check_image(const struct scone_note *n, const uint8_t digest[32], char *err, size_t errlen)
{
	if (memcmp(digest, n->config.image_sha256, 32)) {
		snprintf(err, errlen, "the enclave image (section .scone.enclave) does not match the SHA-256 in its signed config page; "
			 "the binary is corrupted or was modified after signing");
		return -1;
	}
	for (uint32_t i = 0; i < n->hdr.nruns; i++) {
		const struct scone_note_run *r = &n->runs[i];
		if (r->source == SCONE_SRC_IMAGE && !image_run_matches_load(n->image, n->image_size, r)) {
			snprintf(err, errlen, ".note.scone: run %u: image bytes [0x%llx, +0x%llx) at 0x%llx are not exactly a PT_LOAD of the image",
				 i, (unsigned long long)r->src_offset, (unsigned long long)r->src_size,
				 (unsigned long long)r->offset);
			return -1;
		}
	}
	return 0;
}

void scone_note_free(struct scone_note *n)
{
	free(n->runs);
	n->runs = NULL;
}

const uint8_t *scone_note_page(const struct scone_note *n, const struct scone_note_run *r,
			       uint32_t p, size_t *have)
{
	uint64_t at = (uint64_t)p * PAGE;
	*have = 0;
	if (r->source == SCONE_SRC_ZERO || at >= r->src_size)
		return NULL;
	*have = r->src_size - at < PAGE ? r->src_size - at : PAGE;
	return (r->source == SCONE_SRC_IMAGE ? n->image : n->blob) + r->src_offset + at;
}
