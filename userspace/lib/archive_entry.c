// SPDX-License-Identifier: MIT
/*
 * archive_entry.c: the evidence archive's small documents: entry documents (parse and
 * canonical format), head.json and vigil-archive.json, and the paths of entries and blobs.
 *
 * An entry document is what the hash chain covers, so it has exactly one spelling: the writer
 * (vigil_archive_entry_format()) emits members in a fixed order through json-c, and a reader
 * that wants to be sure compares a parsed entry's format with the bytes it read. The parser
 * itself is strict but not canonical: any member order, each member at most once (json.c
 * rejects repeated names), no unknown member, every value typed and bounded, no NUL inside
 * strings. Layout and members: docs/archive-format.md.
 *
 * Invariants: *ret is written only on success; a parsed document formats to text that parses
 * to the same document (the writer is a fixed point); the static @what of a failure names the
 * member at fault.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "archive_internal.h"
#include "cleanup.h"
#include "policy_internal.h"

#define POLICY_FLOOR_MAX ((1ull << 53) - 1) /* policy versions are JSON-safe integers */

enum {
	ANY = 3, /* member of both kinds */
	ATT = 1 << VIGIL_ARCHIVE_ATTESTATION,
	MON = 1 << VIGIL_ARCHIVE_MONITORING,
};

static const char *const item_names[VIGIL_ARCHIVE_ITEM_COUNT] = {
	[VIGIL_ARCHIVE_ITEM_EVIDENCE] = "evidence", [VIGIL_ARCHIVE_ITEM_AK] = "ak",
	[VIGIL_ARCHIVE_ITEM_POLICY] = "policy",	    [VIGIL_ARCHIVE_ITEM_VERDICT] = "verdict",
	[VIGIL_ARCHIVE_ITEM_EAR] = "ear",	    [VIGIL_ARCHIVE_ITEM_EAR_KEY] = "ear_key",
};

/* ---- paths ---- */

/**
 * vigil_archive_entry_path() - DIR/entries/<seq, 12 digits><ext>
 * @dir: the archive
 * @seq: the entry, 1..VIGIL_ARCHIVE_SEQ_MAX - 1
 * @ext: ".json" or ".tsr"
 * @ret: on success, the path; free() it
 *
 * Return: 0, -EINVAL (@seq out of range) or -ENOMEM.
 */
int vigil_archive_entry_path(const char *dir, uint64_t seq, const char *ext, char **ret)
{
	if (seq == 0 || seq >= VIGIL_ARCHIVE_SEQ_MAX)
		return -EINVAL;
	if (asprintf(ret, "%s/" ARCHIVE_ENTRIES "/%012llu%s", dir, (unsigned long long)seq, ext) <
	    0)
		return -ENOMEM;
	return 0;
}

/**
 * vigil_archive_blob_path() - DIR/blobs/<lowercase hex of @sha256>
 * @dir: the archive
 * @sha256: the blob's digest
 * @ret: on success, the path; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_archive_blob_path(const char *dir, const uint8_t sha256[32], char **ret)
{
	char hex[65];

	vigil_hex_encode(sha256, 32, hex, sizeof(hex));
	if (asprintf(ret, "%s/" ARCHIVE_BLOBS "/%s", dir, hex) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- typed, bounded members ---- */

static bool get_u64(struct json_object *o, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (!json_object_is_type(o, json_type_int) || json_object_get_int64(o) < 0)
		return false;
	v = json_object_get_uint64(o);
	if (v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* A string member without NUL bytes (json-c decodes "\u0000"), @min..@max bytes. */
static const char *get_str(struct json_object *o, size_t min, size_t max)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(o, json_type_string))
		return NULL;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (len < min || len > max || memchr(s, '\0', len))
		return NULL;
	return s;
}

static bool get_hex(struct json_object *o, uint8_t *out, size_t min, size_t max, size_t *ret_len)
{
	const char *s = get_str(o, 2 * min, 2 * max);
	size_t n = 0;

	if (!s || vigil_hex_decode(s, strlen(s), out, max, &n) < 0 || n < min)
		return false;
	if (ret_len)
		*ret_len = n;
	return true;
}

/**
 * vigil_archive_device_valid() - whether a device name is one the archive takes
 * @s: the name
 * @len: its length
 *
 * Return: true for 1..VIGIL_ARCHIVE_DEVICE_MAX of A-Z a-z 0-9 . _ : -
 */
bool vigil_archive_device_valid(const char *s, size_t len)
{
	static const char ok[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

	return len >= 1 && len <= VIGIL_ARCHIVE_DEVICE_MAX && strnlen(s, len) == len &&
	       strspn(s, ok) >= len;
}

/* Exactly the members @names of @o, stored in @out in that order; false otherwise. */
static bool get_members(struct json_object *o, const char *const *names, size_t n,
			struct json_object **out)
{
	if (!json_object_is_type(o, json_type_object) || (size_t)json_object_object_length(o) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!json_object_object_get_ex(o, names[i], &out[i]))
			return false;
	return true;
}

static bool get_ref(struct json_object *o, struct vigil_archive_ref *ret)
{
	static const char *const names[] = { "sha256", "size" };
	struct json_object *m[2];

	return get_members(o, names, 2, m) && get_hex(m[0], ret->sha256, 32, 32, NULL) &&
	       get_u64(m[1], 1, VIGIL_ARCHIVE_ITEM_MAX, &ret->size);
}

/* ---- the members of an entry, one parser each ---- */

struct parse {
	struct vigil_archive_doc *d;
	const char *what;
};

static bool m_format(struct parse *p, struct json_object *o)
{
	uint64_t v;

	(void)p;
	return get_u64(o, 1, 1, &v);
}

static bool m_seq(struct parse *p, struct json_object *o)
{
	return get_u64(o, 1, VIGIL_ARCHIVE_SEQ_MAX - 1, &p->d->entry.seq);
}

static bool m_prev(struct parse *p, struct json_object *o)
{
	return get_hex(o, p->d->prev, 32, 32, NULL);
}

static bool m_kind(struct parse *p, struct json_object *o)
{
	(void)p;
	(void)o;
	return true; /* read first, by parse_kind() */
}

static bool m_time(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 1, 32);

	return s && vigil_policy_time_parse(s, strlen(s), &p->d->entry.time) == 0;
}

static bool m_device(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 1, VIGIL_ARCHIVE_DEVICE_MAX);

	if (!s || !vigil_archive_device_valid(s, strlen(s)))
		return false;
	snprintf(p->d->entry.device, sizeof(p->d->entry.device), "%s", s);
	return true;
}

static bool m_nonce(struct parse *p, struct json_object *o)
{
	return get_hex(o, p->d->entry.nonce, VIGIL_NONCE_MIN, VIGIL_NONCE_MAX,
		       &p->d->entry.nonce_len);
}

static bool m_selection(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 1, sizeof(p->d->entry.selection) - 1);
	TPML_PCR_SELECTION sel;

	if (!s || vigil_pcrsel_parse(s, &sel) < 0)
		return false;
	snprintf(p->d->entry.selection, sizeof(p->d->entry.selection), "%s", s);
	return true;
}

static bool m_bank(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 1, 16);

	return s && vigil_hash_from_name(s, &p->d->entry.bank) == 0;
}

static bool m_pcr(struct parse *p, struct json_object *o)
{
	uint64_t v;

	if (!get_u64(o, 0, 23, &v))
		return false;
	p->d->entry.pcr = (uint32_t)v;
	return true;
}

static bool m_policy_floor(struct parse *p, struct json_object *o)
{
	return get_u64(o, 0, POLICY_FLOOR_MAX, &p->d->entry.policy_floor);
}

static bool m_prev_clock(struct parse *p, struct json_object *o)
{
	static const char *const names[] = { "clock", "reset_count", "restart_count" };
	struct vigil_clock_state *c = &p->d->entry.prev;
	struct json_object *m[3];
	uint64_t reset, restart;

	if (!get_members(o, names, 3, m) || !get_u64(m[0], 0, UINT64_MAX, &c->clock) ||
	    !get_u64(m[1], 0, UINT32_MAX, &reset) || !get_u64(m[2], 0, UINT32_MAX, &restart))
		return false;
	c->reset_count = (uint32_t)reset;
	c->restart_count = (uint32_t)restart;
	p->d->entry.have_prev = true;
	return true;
}

static bool items_trust(struct parse *p, struct json_object *arr)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return false;
	n = json_object_array_length(arr);
	if (n > VIGIL_ARCHIVE_TRUST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!get_ref(json_object_array_get_idx(arr, i), &p->d->trust[i]))
			return false;
	p->d->entry.ntrust = n;
	return true;
}

static bool m_items(struct parse *p, struct json_object *o)
{
	struct vigil_archive_doc *d = p->d;
	struct json_object *trust = NULL;
	size_t named = 0;

	if (!json_object_is_type(o, json_type_object))
		return false;
	for (size_t i = 0; i < VIGIL_ARCHIVE_ITEM_COUNT; i++) {
		struct json_object *m = NULL;

		if (!json_object_object_get_ex(o, item_names[i], &m))
			continue;
		if (!get_ref(m, &d->items[i]))
			return false;
		d->has[i] = true;
		named++;
	}
	if (!json_object_object_get_ex(o, "trust", &trust) || !items_trust(p, trust))
		return false;
	/* nothing else; the required ones; an EAR only with the key that signed it */
	return (size_t)json_object_object_length(o) == named + 1 &&
	       d->has[VIGIL_ARCHIVE_ITEM_EVIDENCE] && d->has[VIGIL_ARCHIVE_ITEM_AK] &&
	       d->has[VIGIL_ARCHIVE_ITEM_VERDICT] &&
	       d->has[VIGIL_ARCHIVE_ITEM_EAR] == d->has[VIGIL_ARCHIVE_ITEM_EAR_KEY];
}

static bool m_monitoring(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 2, 3);

	if (!s || (strcmp(s, "off") != 0 && strcmp(s, "on") != 0))
		return false;
	p->d->entry.monitoring_off = !strcmp(s, "off");
	return true;
}

static bool m_by(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 1, VIGIL_ARCHIVE_BY_MAX);

	return s && (p->d->entry.by = strdup(s)) != NULL;
}

static bool m_reason(struct parse *p, struct json_object *o)
{
	const char *s = get_str(o, 0, VIGIL_ARCHIVE_REASON_MAX);

	return s && (p->d->entry.reason = strdup(s)) != NULL;
}

/* The members in canonical order: which kinds have them, which must be there. */
static const struct member {
	const char *name;
	unsigned int kinds;
	unsigned int required;
	bool (*parse)(struct parse *p, struct json_object *o);
	const char *what;
} members[] = {
	{ "vigil_archive_entry", ANY, ANY, m_format, "\"vigil_archive_entry\": must be 1" },
	{ "seq", ANY, ANY, m_seq, "\"seq\": must be an integer 1..999999999999" },
	{ "prev", ANY, ANY, m_prev, "\"prev\": must be 64 hex digits" },
	{ "kind", ANY, ANY, m_kind, "\"kind\": must be \"attestation\" or \"monitoring\"" },
	{ "time", ANY, ANY, m_time, "\"time\": must be a UTC time YYYY-MM-DDTHH:MM:SSZ" },
	{ "device", ANY, ATT, m_device, "\"device\": must be 1..128 of [A-Za-z0-9._:-]" },
	{ "nonce", ATT, ATT, m_nonce, "\"nonce\": must be 8..64 bytes in hex" },
	{ "selection", ATT, ATT, m_selection, "\"selection\": must be a PCR selection" },
	{ "bank", ATT, ATT, m_bank, "\"bank\": must be sha1, sha256, sha384 or sha512" },
	{ "pcr", ATT, ATT, m_pcr, "\"pcr\": must be an integer 0..23" },
	{ "policy_floor", ATT, ATT, m_policy_floor, "\"policy_floor\": must be 0..2^53-1" },
	{ "prev_clock", ATT, 0, m_prev_clock,
	  "\"prev_clock\": must be {clock, reset_count, restart_count}" },
	{ "items", ATT, ATT, m_items,
	  "\"items\": must name evidence, ak, trust, verdict (policy, ear with ear_key)" },
	{ "monitoring", MON, MON, m_monitoring, "\"monitoring\": must be \"off\" or \"on\"" },
	{ "by", MON, MON, m_by, "\"by\": must be a string of 1..256 bytes" },
	{ "reason", MON, MON, m_reason, "\"reason\": must be a string of 0..4096 bytes" },
};

#define MEMBERS (sizeof(members) / sizeof(members[0]))

static int parse_kind(struct json_object *root, enum vigil_archive_kind *ret)
{
	struct json_object *m = NULL;
	const char *s;

	if (!json_object_object_get_ex(root, "kind", &m) || !(s = get_str(m, 1, 16)))
		return -EBADMSG;
	if (!strcmp(s, "attestation"))
		*ret = VIGIL_ARCHIVE_ATTESTATION;
	else if (!strcmp(s, "monitoring"))
		*ret = VIGIL_ARCHIVE_MONITORING;
	else
		return -EBADMSG;
	return 0;
}

/* Every member of @root known and allowed for the kind, and parsed; the required ones there. */
static int parse_members(struct parse *p, struct json_object *root)
{
	unsigned int kind = 1u << p->d->entry.kind;

	for (size_t i = 0; i < MEMBERS; i++) {
		struct json_object *m = NULL;

		p->what = members[i].what;
		if (!json_object_object_get_ex(root, members[i].name, &m)) {
			if (members[i].required & kind)
				return -EBADMSG;
			continue;
		}
		if (!(members[i].kinds & kind)) {
			p->what = "a member this kind of entry does not have";
			return -EBADMSG;
		}
		errno = 0; /* strdup() of "by" and "reason" is the only way to fail otherwise */
		if (!members[i].parse(p, m))
			return errno == ENOMEM ? -ENOMEM : -EBADMSG;
	}
	return 0;
}

static bool all_known(struct json_object *root)
{
	json_object_object_foreach(root, key, val)
	{
		size_t i = 0;

		(void)val;
		while (i < MEMBERS && strcmp(key, members[i].name) != 0)
			i++;
		if (i == MEMBERS)
			return false;
	}
	return true;
}

/**
 * vigil_archive_entry_parse() - parse one entry document strictly
 * @text: the document (need not be NUL-terminated)
 * @len: its length, at most VIGIL_ARCHIVE_ENTRY_MAX
 * @ret: on success, the document; release @ret->entry with vigil_archive_entry_release()
 * @what: on -EBADMSG, a static text naming what is wrong (may be NULL)
 *
 * Return: 0; -EBADMSG (not an entry document); -EFBIG (longer than VIGIL_ARCHIVE_ENTRY_MAX);
 * -ENOMEM.
 */
int vigil_archive_entry_parse(const char *text, size_t len, struct vigil_archive_doc *ret,
			      const char **what)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_archive_doc doc = { 0 }, *d = &doc;
	struct parse p = { .d = d, .what = "not a JSON object without repeated members" };
	int r = vigil_json_parse(text, len, VIGIL_ARCHIVE_ENTRY_MAX, &root);

	if (r == 0 && !json_object_is_type(root, json_type_object))
		r = -EBADMSG;
	if (r == 0 && parse_kind(root, &d->entry.kind) < 0) {
		p.what = members[3].what;
		r = -EBADMSG;
	}
	if (r == 0 && !all_known(root)) {
		p.what = "an unknown member";
		r = -EBADMSG;
	}
	if (r == 0)
		r = parse_members(&p, root);
	if (r == -ENOMEM || r == -EFBIG) {
		vigil_archive_entry_release(&d->entry);
		return r;
	}
	if (r < 0) {
		vigil_archive_entry_release(&d->entry);
		if (what)
			*what = p.what;
		return -EBADMSG;
	}
	*ret = doc;
	return 0;
}

/**
 * vigil_archive_entry_release() - free what an entry owns
 * @e: the entry; its strings and items are freed and it lists none afterwards
 */
void vigil_archive_entry_release(struct vigil_archive_entry *e)
{
	free(e->by);
	free(e->reason);
	free(e->evidence);
	free(e->ak);
	free(e->policy);
	free(e->verdict);
	free(e->ear);
	free(e->ear_key);
	for (size_t i = 0; i < e->ntrust && i < VIGIL_ARCHIVE_TRUST_MAX; i++)
		free(e->trust[i]);
	e->by = e->reason = NULL;
	e->evidence = e->ak = e->policy = e->verdict = e->ear = e->ear_key = NULL;
	memset(e->trust, 0, sizeof(e->trust));
}

/* ---- the canonical text ---- */

static struct json_object *hex_json(const uint8_t *b, size_t len)
{
	char hex[2 * VIGIL_NONCE_MAX + 1];

	if (vigil_hex_encode(b, len, hex, sizeof(hex)) < 0)
		return NULL;
	return json_object_new_string(hex);
}

static struct json_object *ref_json(const struct vigil_archive_ref *ref)
{
	struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "sha256", hex_json(ref->sha256, 32)) < 0 ||
	    vigil_json_add(o, "size", json_object_new_uint64(ref->size)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *items_json(const struct vigil_archive_doc *d)
{
	struct json_object *o = json_object_new_object(), *trust = json_object_new_array();
	int r = o && trust ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < d->entry.ntrust; i++)
		if (json_object_array_add(trust, ref_json(&d->trust[i])) < 0)
			r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < VIGIL_ARCHIVE_ITEM_COUNT; i++) {
		if (i == VIGIL_ARCHIVE_ITEM_VERDICT) /* "trust" goes before "verdict" */
			r = vigil_json_add(o, "trust", TAKE_PTR(trust));
		if (r == 0 && d->has[i])
			r = vigil_json_add(o, item_names[i], ref_json(&d->items[i]));
	}
	json_object_put(trust);
	if (r < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *clock_json(const struct vigil_clock_state *c)
{
	struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "clock", json_object_new_uint64(c->clock)) < 0 ||
	    vigil_json_add(o, "reset_count", json_object_new_int64(c->reset_count)) < 0 ||
	    vigil_json_add(o, "restart_count", json_object_new_int64(c->restart_count)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int attestation_json(const struct vigil_archive_doc *d, struct json_object *o)
{
	const struct vigil_archive_entry *e = &d->entry;
	const char *bank = vigil_hash_name(e->bank);
	int r;

	if (!bank || e->nonce_len < VIGIL_NONCE_MIN || e->nonce_len > VIGIL_NONCE_MAX)
		return -EINVAL;
	r = vigil_json_add(o, "nonce", hex_json(e->nonce, e->nonce_len));
	if (r == 0)
		r = vigil_json_add(o, "selection", json_object_new_string(e->selection));
	if (r == 0)
		r = vigil_json_add(o, "bank", json_object_new_string(bank));
	if (r == 0)
		r = vigil_json_add(o, "pcr", json_object_new_int64(e->pcr));
	if (r == 0)
		r = vigil_json_add(o, "policy_floor", json_object_new_uint64(e->policy_floor));
	if (r == 0 && e->have_prev)
		r = vigil_json_add(o, "prev_clock", clock_json(&e->prev));
	if (r == 0)
		r = vigil_json_add(o, "items", items_json(d));
	return r;
}

static int monitoring_json(const struct vigil_archive_entry *e, struct json_object *o)
{
	int r = vigil_json_add(o, "monitoring",
			       json_object_new_string(e->monitoring_off ? "off" : "on"));

	if (r == 0)
		r = vigil_json_add(o, "by", json_object_new_string(e->by ? e->by : ""));
	if (r == 0)
		r = vigil_json_add(o, "reason", json_object_new_string(e->reason ? e->reason : ""));
	return r;
}

static int entry_json(const struct vigil_archive_doc *d, struct json_object *o)
{
	const struct vigil_archive_entry *e = &d->entry;
	char time[VIGIL_POLICY_TIME_LEN + 1];
	int r;

	if (vigil_policy_time_format(e->time, time) < 0)
		return -EINVAL;
	r = vigil_json_add(o, "vigil_archive_entry", json_object_new_int(1));
	if (r == 0)
		r = vigil_json_add(o, "seq", json_object_new_uint64(e->seq));
	if (r == 0)
		r = vigil_json_add(o, "prev", hex_json(d->prev, 32));
	if (r == 0)
		r = vigil_json_add(o, "kind",
				   json_object_new_string(e->kind == VIGIL_ARCHIVE_ATTESTATION ?
								  "attestation" :
								  "monitoring"));
	if (r == 0)
		r = vigil_json_add(o, "time", json_object_new_string(time));
	if (r == 0 && e->device[0])
		r = vigil_json_add(o, "device", json_object_new_string(e->device));
	if (r < 0)
		return r;
	return e->kind == VIGIL_ARCHIVE_ATTESTATION ? attestation_json(d, o) :
						      monitoring_json(e, o);
}

/**
 * vigil_archive_entry_format() - the canonical text of an entry document
 * @d: the document (its item buffers are not used)
 * @ret: on success, the text, pretty-printed with a final newline; free() it
 * @ret_len: on success, its length
 *
 * Return: 0, -EINVAL (a time or nonce that cannot be written) or -ENOMEM.
 */
int vigil_archive_entry_format(const struct vigil_archive_doc *d, char **ret, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	char *text = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	r = entry_json(d, o);
	if (r == 0)
		r = vigil_json_format(o, &text);
	if (r < 0 || !text)
		return r < 0 ? r : -ENOMEM;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

/* ---- head.json and vigil-archive.json ---- */

static int read_small(const char *dir, const char *name, struct json_object **ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = vigil_file_read(path, ARCHIVE_SMALL_MAX, &text, &len);
	if (r == -EFBIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	r = vigil_json_parse((const char *)text, len, ARCHIVE_SMALL_MAX, ret);
	return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
}

/**
 * vigil_archive_marker_read() - check DIR/vigil-archive.json
 * @dir: the archive
 *
 * Return: 0 (an archive of format VIGIL_ARCHIVE_FORMAT); -ENOENT (no marker); -EBADMSG (not
 * a marker); -EPROTONOSUPPORT (another format); another negative errno from reading it.
 */
int vigil_archive_marker_read(const char *dir)
{
	static const char *const names[] = { "vigil_archive", "created" };
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct json_object *m[2];
	const char *created;
	int64_t t;
	int r = read_small(dir, ARCHIVE_MARKER, &root);

	if (r < 0)
		return r;
	if (!get_members(root, names, 2, m) || !json_object_is_type(m[0], json_type_int) ||
	    !(created = get_str(m[1], 1, 32)) ||
	    vigil_policy_time_parse(created, strlen(created), &t) < 0)
		return -EBADMSG;
	return json_object_get_int64(m[0]) == VIGIL_ARCHIVE_FORMAT ? 0 : -EPROTONOSUPPORT;
}

/**
 * vigil_archive_head_read() - read DIR/head.json
 * @dir: the archive
 * @ret_seq: on success, the last entry (0: none yet)
 * @ret_sha256: on success, the SHA-256 of its file (zeros when there is none)
 *
 * Return: 0; -ENOENT (no head); -EBADMSG (not a head); another negative errno from reading.
 */
int vigil_archive_head_read(const char *dir, uint64_t *ret_seq, uint8_t ret_sha256[32])
{
	static const char *const names[] = { "seq", "sha256" };
	static const uint8_t zero[32];
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct json_object *m[2];
	uint8_t sha[32];
	uint64_t seq;
	int r = read_small(dir, ARCHIVE_HEAD, &root);

	if (r < 0)
		return r;
	if (!get_members(root, names, 2, m) || !get_u64(m[0], 0, VIGIL_ARCHIVE_SEQ_MAX - 1, &seq) ||
	    !get_hex(m[1], sha, 32, 32, NULL) || (seq == 0 && memcmp(sha, zero, 32) != 0))
		return -EBADMSG;
	*ret_seq = seq;
	memcpy(ret_sha256, sha, 32);
	return 0;
}
