/* The loader: the note's runs, in order, through a backend. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../sgxcrypto/sha256.h"
#include "loader.h"
#include "sim.h"

#define PAGE 4096ull
#define ATTR_DEBUG 0x2ull
#define ATTR_MODE64BIT 0x4ull

void scone_secs_from_note(const struct scone_note *n, struct scone_secs_params *p)
{
	memset(p, 0, sizeof *p);
	p->size = n->hdr.enclave_size;
	p->ssa_frame_pages = n->hdr.ssa_frame_pages;
	memcpy(&p->miscselect, n->sigstruct + 900, 4);
	memcpy(&p->miscmask, n->sigstruct + 904, 4);
	memcpy(&p->xfrm, n->sigstruct + 936, 8);
	p->attributes = ATTR_MODE64BIT | (n->config.flags & SCONE_CONFIG_DEBUG ? ATTR_DEBUG : 0);
}

static int add_run(const struct scone_backend *b, struct scone_enclave *e,
		   const struct scone_note *n, const struct scone_note_run *r, char *err, size_t errlen)
{
	uint32_t full = r->source == SCONE_SRC_ZERO ? 0 : (uint32_t)(r->src_size / PAGE);
	uint32_t done = 0;
	int rc;
	if (full) {
		size_t have;
		const uint8_t *src = scone_note_page(n, r, 0, &have);
		if ((rc = b->add(e, r->offset, src, full, r->secinfo, r->measured, err, errlen)))
			return rc;
		done = full;
	}
	if (done < r->count && r->source != SCONE_SRC_ZERO && r->src_size % PAGE) {
		uint8_t page[PAGE] __attribute__((aligned(4096))) = { 0 };
		size_t have;
		const uint8_t *src = scone_note_page(n, r, done, &have);
		memcpy(page, src, have);
		if ((rc = b->add(e, r->offset + done * PAGE, page, 1, r->secinfo, r->measured, err, errlen)))
			return rc;
		done++;
	}
	if (done < r->count) {
		const void *z = scone_zero_src((uint64_t)(r->count - done) * PAGE);
		if (!z) {
			snprintf(err, errlen, "cannot map %u zero pages for the enclave", r->count - done);
			return -ENOMEM;
		}
		if ((rc = b->add(e, r->offset + done * PAGE, z, r->count - done, r->secinfo,
				 r->measured, err, errlen)))
			return rc;
	}
	return 0;
}

int scone_load(const struct scone_backend *b, const struct scone_note *n,
	       struct scone_enclave **e, uint64_t *base, char *err, size_t errlen)
{
	struct scone_secs_params p;
	struct sha256_rider image;
	uint8_t digest[32];
	scone_secs_from_note(n, &p);
	int rc = b->create(e, &p, base, err, errlen);
	if (rc)
		return rc;
	/* One zero region for the largest zero tail, not one mapping per size. */
	uint64_t zero_pages = 0;
	for (uint32_t i = 0; i < n->hdr.nruns; i++) {
		const struct scone_note_run *r = &n->runs[i];
		uint64_t data = r->source == SCONE_SRC_ZERO ? 0 : (r->src_size + PAGE - 1) / PAGE;
		if (r->count - data > zero_pages)
			zero_pages = r->count - data;
	}
	if (zero_pages)
		scone_zero_src(zero_pages * PAGE);
	/* The image's SHA-256 (bound by the config page) costs next to nothing
	 * when it rides along the measurement; other backends hash it after. */
	sha256_rider_init(&image, n->image, n->image_size);
	scone_sim_ride(b, *e, &image);
	for (uint32_t i = 0; i < n->hdr.nruns; i++)
		if ((rc = add_run(b, *e, n, &n->runs[i], err, errlen)))
			goto fail;
	scone_sim_ride(b, *e, NULL);
	sha256_rider_final(&image, digest);
	if (scone_note_check_image(n, digest, err, errlen)) {
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = b->init(*e, n->sigstruct, err, errlen)))
		goto fail;
	return 0;
fail:
	scone_sim_ride(b, *e, NULL);
	b->destroy(*e);
	*e = NULL;
	return rc;
}
