// SPDX-License-Identifier: MIT
/*
 * fuzz_archive.c: libFuzzer harness for the evidence archive's entry documents
 * (vigil_archive_entry_parse() and vigil_archive_entry_format(), lib/archive_entry.c).
 *
 * The input is an entry file's bytes. Properties besides "no crash, no leak, no UB":
 *   - the parser returns 0, -EBADMSG (with a reason) or -ENOMEM, nothing else;
 *   - what parses is within the format's bounds: sequence number, device name charset,
 *     nonce length, PCR, trusted keys, item sizes, "by" and "reason" lengths without NUL,
 *     an EAR only with its key, an attestation's required items;
 *   - it formats, the text parses again to the same document, and formatting that gives the
 *     same text: the writer is a fixed point, so the canonical check of vigil_archive_verify()
 *     (format(parse(file)) == file) is well defined.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compliance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool device_ok(const char *s, bool empty_ok)
{
	size_t len = strlen(s);

	if (!len)
		return empty_ok;
	return len <= VIGIL_ARCHIVE_DEVICE_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
		       len;
}

static void check_attestation(const struct vigil_archive_doc *d)
{
	const struct vigil_archive_entry *e = &d->entry;

	if (e->nonce_len < VIGIL_NONCE_MIN || e->nonce_len > VIGIL_NONCE_MAX || e->pcr > 23 ||
	    e->ntrust > VIGIL_ARCHIVE_TRUST_MAX || !e->selection[0] || e->by || e->reason ||
	    !d->has[VIGIL_ARCHIVE_ITEM_EVIDENCE] || !d->has[VIGIL_ARCHIVE_ITEM_AK] ||
	    !d->has[VIGIL_ARCHIVE_ITEM_VERDICT] ||
	    d->has[VIGIL_ARCHIVE_ITEM_EAR] != d->has[VIGIL_ARCHIVE_ITEM_EAR_KEY] ||
	    !device_ok(e->device, false) || !vigil_hash_name(e->bank))
		abort();
	for (size_t i = 0; i < VIGIL_ARCHIVE_ITEM_COUNT; i++)
		if (d->has[i] &&
		    (d->items[i].size < 1 || d->items[i].size > VIGIL_ARCHIVE_ITEM_MAX))
			abort();
	for (size_t i = 0; i < e->ntrust; i++)
		if (d->trust[i].size < 1 || d->trust[i].size > VIGIL_ARCHIVE_ITEM_MAX)
			abort();
}

static void check_bounds(const struct vigil_archive_doc *d)
{
	const struct vigil_archive_entry *e = &d->entry;

	if (e->seq < 1 || e->seq >= VIGIL_ARCHIVE_SEQ_MAX)
		abort();
	if (e->kind == VIGIL_ARCHIVE_ATTESTATION) {
		check_attestation(d);
		return;
	}
	if (e->kind != VIGIL_ARCHIVE_MONITORING || !e->by || !e->reason || !*e->by ||
	    strlen(e->by) > VIGIL_ARCHIVE_BY_MAX || strlen(e->reason) > VIGIL_ARCHIVE_REASON_MAX ||
	    !device_ok(e->device, true) || e->ntrust || e->have_prev)
		abort();
	for (size_t i = 0; i < VIGIL_ARCHIVE_ITEM_COUNT; i++)
		if (d->has[i])
			abort();
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_refs(const struct vigil_archive_doc *a, const struct vigil_archive_doc *b)
{
	for (size_t i = 0; i < VIGIL_ARCHIVE_ITEM_COUNT; i++)
		if (a->has[i] != b->has[i] ||
		    (a->has[i] && memcmp(&a->items[i], &b->items[i], sizeof(a->items[i]))))
			return false;
	for (size_t i = 0; i < a->entry.ntrust; i++)
		if (memcmp(&a->trust[i], &b->trust[i], sizeof(a->trust[i])))
			return false;
	return true;
}

static bool same(const struct vigil_archive_doc *a, const struct vigil_archive_doc *b)
{
	const struct vigil_archive_entry *x = &a->entry, *y = &b->entry;

	return x->seq == y->seq && x->kind == y->kind && !strcmp(x->device, y->device) &&
	       x->time == y->time && x->monitoring_off == y->monitoring_off &&
	       same_str(x->by, y->by) && same_str(x->reason, y->reason) &&
	       !memcmp(a->prev, b->prev, 32) && x->nonce_len == y->nonce_len &&
	       !memcmp(x->nonce, y->nonce, x->nonce_len) && !strcmp(x->selection, y->selection) &&
	       x->bank == y->bank && x->pcr == y->pcr && x->policy_floor == y->policy_floor &&
	       x->have_prev == y->have_prev &&
	       (!x->have_prev || !memcmp(&x->prev, &y->prev, sizeof(x->prev))) &&
	       x->ntrust == y->ntrust && same_refs(a, b);
}

static void round_trip(const struct vigil_archive_doc *d)
{
	struct vigil_archive_doc again;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	const char *what = NULL;

	if (vigil_archive_entry_format(d, &text, &len) < 0 || len != strlen(text))
		abort();
	if (vigil_archive_entry_parse(text, len, &again, &what) < 0 || !same(d, &again))
		abort();
	if (vigil_archive_entry_format(&again, &text2, &len2) < 0 || len2 != len ||
	    memcmp(text, text2, len))
		abort();
	vigil_archive_entry_release(&again.entry);
	free(text);
	free(text2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_archive_doc d;
	const char *what = NULL;
	int r = vigil_archive_entry_parse((const char *)data, size, &d, &what);

	if (r == -EBADMSG && !what)
		abort();
	if (r < 0) {
		if (r != -EBADMSG && r != -ENOMEM && r != -EFBIG)
			abort();
		return 0;
	}
	check_bounds(&d);
	round_trip(&d);
	vigil_archive_entry_release(&d.entry);
	return 0;
}
