// SPDX-License-Identifier: MIT
/*
 * archive_verify.c: check an evidence archive offline, from its directory alone, and read its
 * entries in order for reports.
 *
 * Every problem becomes a finding that names the entry (or 0, the archive as a whole); the
 * check never stops early, so one edit shows everywhere it has an effect: a dropped entry as a
 * gap, an edited one as a broken chain at its successor (or, for the last, a head that names
 * other bytes), an edited item as a mismatch at every entry that names it. Entry numbers come
 * from the directory listing, not from a count: a planted entry 999999999999 costs one read,
 * and a range of missing entries is one finding.
 *
 * Per entry, in order: its file (bounded), its digest, the document (strict and canonical:
 * vigil_archive_entry_format() of the parse must give the same bytes), its number against its
 * file name, "prev" against the previous file's digest, the head, the timestamp token, the
 * items against their digests and sizes; then an attestation is re-verified
 * (vigil_reverify(), at the entry's time) to the archived verdict byte for byte, and an
 * archived EAR is checked under its archived key and against the claims of the re-verified
 * verdict.
 *
 * Invariants: a finding is never an errno and an errno (-ENOMEM; the directory or a file the
 * check needs cannot be read at all) is never a finding; *ret is written only on success; the
 * "ear.verifier-id" of an archived EAR is taken as it is (it names the build that issued it,
 * which need not be this one); everything else in it must be what this verdict gives.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "archive_internal.h"
#include "cleanup.h"
#include "policy.h"

static const char *const problem_names[VIGIL_ARCHIVE_PROBLEM_COUNT] = {
	[VIGIL_ARCHIVE_OK] = "ok",
	[VIGIL_ARCHIVE_UNREADABLE] = "unreadable",
	[VIGIL_ARCHIVE_MALFORMED] = "malformed",
	[VIGIL_ARCHIVE_ITEM_MISMATCH] = "item_mismatch",
	[VIGIL_ARCHIVE_CHAIN_BROKEN] = "chain_broken",
	[VIGIL_ARCHIVE_SEQ_GAP] = "seq_gap",
	[VIGIL_ARCHIVE_HEAD_MISMATCH] = "head_mismatch",
	[VIGIL_ARCHIVE_TIMESTAMP_BAD] = "timestamp_bad",
	[VIGIL_ARCHIVE_VERDICT_DIFFERS] = "verdict_differs",
	[VIGIL_ARCHIVE_EAR_BAD] = "ear_bad",
	[VIGIL_ARCHIVE_EAR_DIFFERS] = "ear_differs",
};

static const char *const item_names[VIGIL_ARCHIVE_ITEM_COUNT] = {
	[VIGIL_ARCHIVE_ITEM_EVIDENCE] = "evidence", [VIGIL_ARCHIVE_ITEM_AK] = "ak",
	[VIGIL_ARCHIVE_ITEM_POLICY] = "policy",	    [VIGIL_ARCHIVE_ITEM_VERDICT] = "verdict",
	[VIGIL_ARCHIVE_ITEM_EAR] = "ear",	    [VIGIL_ARCHIVE_ITEM_EAR_KEY] = "ear_key",
};

/**
 * vigil_archive_problem_name() - the stable name of a problem
 * @p: the problem
 *
 * Return: e.g. "chain_broken"; "unknown" outside the enum.
 */
const char *vigil_archive_problem_name(enum vigil_archive_problem p)
{
	return (unsigned int)p < VIGIL_ARCHIVE_PROBLEM_COUNT ? problem_names[p] : "unknown";
}

/**
 * vigil_archive_result_release() - free a result's findings
 * @r: the result; lists no findings afterwards
 */
void vigil_archive_result_release(struct vigil_archive_result *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->findings[i].detail);
	free(r->findings);
	r->findings = NULL;
	r->count = 0;
}

/* One pass over an archive: what it found so far, and what the next entry is checked against. */
struct check {
	const char *dir;
	const uint8_t *ca;
	size_t ca_len;
	struct vigil_archive_result *res; /* NULL: reading for vigil_archive_foreach() */
	int err; /* a negative errno: the pass cannot go on */
	bool bad; /* the current entry has a finding */
	bool have_head;
	uint64_t head_seq;
	uint8_t head_sha[32];
	bool head_entry_read; /* the entry head.json names was read: its digest is */
	uint8_t head_entry_sha[32];
	uint64_t prev_seq; /* the last entry file read (0: none), and its digest */
	uint8_t prev_sha[32];
};

__attribute__((format(printf, 4, 5))) static void
finding(struct check *c, uint64_t seq, enum vigil_archive_problem p, const char *fmt, ...)
{
	struct vigil_archive_finding *f;
	char *detail = NULL;
	va_list ap;
	int n;

	c->bad = true;
	if (!c->res || c->err)
		return;
	va_start(ap, fmt);
	n = vasprintf(&detail, fmt, ap);
	va_end(ap);
	f = n < 0 ? NULL :
		    reallocarray(c->res->findings, c->res->count + 1, sizeof(*c->res->findings));
	if (!f) {
		free(n < 0 ? NULL : detail);
		c->err = -ENOMEM;
		return;
	}
	c->res->findings = f;
	f[c->res->count++] = (struct vigil_archive_finding){ seq, p, detail };
}

static void short_hex(const uint8_t sha[32], char out[17])
{
	vigil_hex_encode(sha, 8, out, 17);
}

/* ---- the archive as a whole ---- */

static int open_archive(struct check *c)
{
	_cleanup_free_ char *entries = NULL;
	struct stat st;
	int r;

	if (stat(c->dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (asprintf(&entries, "%s/" ARCHIVE_ENTRIES, c->dir) < 0) {
		entries = NULL;
		return -ENOMEM;
	}
	r = vigil_archive_marker_read(c->dir);
	if (r == -ENOENT && stat(entries, &st) < 0)
		return -ENOENT; /* not an archive at all */
	if (r == -ENOENT || r == -EBADMSG)
		finding(c, 0, VIGIL_ARCHIVE_MALFORMED, ARCHIVE_MARKER " is %s",
			r == -ENOENT ? "missing" : "not an archive marker");
	else if (r < 0)
		return r;
	r = vigil_archive_head_read(c->dir, &c->head_seq, c->head_sha);
	if (r == -ENOENT || r == -EBADMSG)
		finding(c, 0, VIGIL_ARCHIVE_HEAD_MISMATCH, ARCHIVE_HEAD " is %s",
			r == -ENOENT ? "missing" : "not a head document");
	else if (r < 0)
		return r;
	c->have_head = r == 0;
	return 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparison function */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "000000000007.json" is entry 7; ".tsr" files go with their entry; anything else is noted. */
static int entry_name(const char *name, uint64_t *ret)
{
	uint64_t seq = 0;
	size_t i;

	for (i = 0; i < 12; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		seq = seq * 10 + (uint64_t)(name[i] - '0');
	}
	if (seq == 0)
		return -EINVAL;
	if (!strcmp(name + i, ".tsr"))
		return 0;
	if (strcmp(name + i, ".json") != 0)
		return -EINVAL;
	*ret = seq;
	return 1;
}

static int add_seq(uint64_t **seqs, size_t *n, size_t *size, uint64_t seq)
{
	if (*n == *size) {
		size_t more = *size ? 2 * *size : 64;
		uint64_t *p = reallocarray(*seqs, more, sizeof(**seqs));

		if (!p)
			return -ENOMEM;
		*seqs = p;
		*size = more;
	}
	(*seqs)[(*n)++] = seq;
	return 0;
}

static int list_entries(struct check *c, uint64_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint64_t *seqs = NULL;
	size_t n = 0, size = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (asprintf(&path, "%s/" ARCHIVE_ENTRIES, c->dir) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		uint64_t seq = 0;
		int k = de->d_name[0] == '.' ? 0 : entry_name(de->d_name, &seq);

		if (k == 1)
			r = add_seq(&seqs, &n, &size, seq);
		else if (k < 0)
			finding(c, 0, VIGIL_ARCHIVE_MALFORMED,
				ARCHIVE_ENTRIES "/%.255s is not an entry file", de->d_name);
	}
	closedir(d);
	if (r < 0)
		return r;
	if (n)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	*ret = TAKE_PTR(seqs);
	*ret_n = n;
	return 0;
}

/* ---- one entry's own checks ---- */

static int read_text(struct check *c, uint64_t seq, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	int r = vigil_archive_entry_path(c->dir, seq, ".json", &path);

	if (r == 0)
		r = vigil_file_read(path, VIGIL_ARCHIVE_ENTRY_MAX, ret, ret_len);
	if (r == -ENOMEM)
		c->err = r;
	else if (r == -EFBIG)
		finding(c, seq, VIGIL_ARCHIVE_MALFORMED, "the entry file is larger than 1 MiB");
	else if (r < 0)
		finding(c, seq, VIGIL_ARCHIVE_UNREADABLE, "the entry file cannot be read: %s",
			strerror(-r));
	return r;
}

/* Strict, canonical, and the entry its file name says. */
static int parse_entry(struct check *c, uint64_t seq, const uint8_t *text, size_t len,
		       struct vigil_archive_doc *d)
{
	_cleanup_free_ char *canon = NULL;
	const char *what = "";
	size_t canon_len = 0;
	int r = vigil_archive_entry_parse((const char *)text, len, d, &what);

	if (r == -ENOMEM ||
	    (r == 0 && (r = vigil_archive_entry_format(d, &canon, &canon_len)) == -ENOMEM))
		c->err = -ENOMEM;
	if (r < 0) {
		if (r != -ENOMEM)
			finding(c, seq, VIGIL_ARCHIVE_MALFORMED, "the entry does not parse: %s",
				what);
		return r;
	}
	if (!canon || !text || canon_len != len || memcmp(canon, text, len) != 0)
		finding(c, seq, VIGIL_ARCHIVE_MALFORMED,
			"the entry is not in the canonical form vigil writes");
	if (d->entry.seq != seq)
		finding(c, seq, VIGIL_ARCHIVE_SEQ_GAP,
			"the file of entry %llu holds entry %llu (renamed or reordered)",
			(unsigned long long)seq, (unsigned long long)d->entry.seq);
	return 0;
}

static void check_timestamp(struct check *c, struct vigil_archive_entry *e)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *tsr = NULL;
	char detail[512] = "";
	size_t len = 0;
	int64_t t = 0;
	int r = vigil_archive_entry_path(c->dir, e->seq, ".tsr", &path);

	if (r == 0)
		r = vigil_file_read(path, VIGIL_ARCHIVE_TSR_MAX, &tsr, &len);
	if (r == -ENOENT)
		return;
	if (r == -ENOMEM) {
		c->err = r;
		return;
	}
	r = r == -EFBIG ? VIGIL_TSA_BAD :
	    r < 0	? r :
			  vigil_tsa_check(tsr, len, e->entry_sha256, c->ca, c->ca_len, &t, detail,
					  sizeof(detail));
	if (r == -EFBIG)
		snprintf(detail, sizeof(detail), "larger than 64 KiB");
	if (r == -ENOMEM)
		c->err = r;
	else if (r < 0)
		finding(c, e->seq, VIGIL_ARCHIVE_UNREADABLE,
			"the timestamp token cannot be read: %s", strerror(-r));
	else if (r == VIGIL_TSA_BAD)
		finding(c, e->seq, VIGIL_ARCHIVE_TIMESTAMP_BAD, "%s", detail);
	if (r != VIGIL_TSA_VALID)
		return;
	e->have_timestamp = true;
	e->timestamp = t;
	if (c->res && c->ca)
		c->res->timestamps++;
	else if (c->res)
		c->res->timestamps_unchecked++;
}

/* One item's blob: there, of the size the entry names, hashing to its name. */
static uint8_t *load_blob(struct check *c, uint64_t seq, const char *name,
			  const struct vigil_archive_ref *ref)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t sha[32];
	char hex[17];
	size_t len = 0;
	int r = vigil_archive_blob_path(c->dir, ref->sha256, &path);

	short_hex(ref->sha256, hex);
	if (r == 0)
		r = vigil_file_read(path, (size_t)ref->size, &buf, &len);
	if (r == 0)
		r = vigil_hash_digest(TPM2_ALG_SHA256, buf, len, sha, sizeof(sha));
	if (r == -ENOMEM || r == -EIO)
		c->err = r;
	else if (r == -EFBIG)
		finding(c, seq, VIGIL_ARCHIVE_ITEM_MISMATCH,
			"item %s: blob %s... is larger than the %llu bytes the entry names", name,
			hex, (unsigned long long)ref->size);
	else if (r < 0)
		finding(c, seq, VIGIL_ARCHIVE_UNREADABLE, "item %s: blob %s...: %s", name, hex,
			r == -ENOENT ? "missing" : strerror(-r));
	else if (len != ref->size)
		finding(c, seq, VIGIL_ARCHIVE_ITEM_MISMATCH,
			"item %s: blob %s... has %zu bytes, the entry names %llu", name, hex, len,
			(unsigned long long)ref->size);
	else if (CRYPTO_memcmp(sha, ref->sha256, 32) != 0)
		finding(c, seq, VIGIL_ARCHIVE_ITEM_MISMATCH,
			"item %s: blob %s... does not hash to its name (its bytes were changed)",
			name, hex);
	else
		return TAKE_PTR(buf);
	return NULL;
}

/* Every item into @d->entry; false when one is missing or differs. */
static bool load_items(struct check *c, struct vigil_archive_doc *d)
{
	struct vigil_archive_entry *e = &d->entry;
	uint8_t **bufs[VIGIL_ARCHIVE_ITEM_COUNT] = { &e->evidence, &e->ak,  &e->policy,
						     &e->verdict,  &e->ear, &e->ear_key };
	size_t *lens[VIGIL_ARCHIVE_ITEM_COUNT] = { &e->evidence_len, &e->ak_len,  &e->policy_len,
						   &e->verdict_len,  &e->ear_len, &e->ear_key_len };
	bool ok = true;

	for (size_t i = 0; i < VIGIL_ARCHIVE_ITEM_COUNT && !c->err; i++) {
		if (!d->has[i])
			continue;
		*bufs[i] = load_blob(c, e->seq, item_names[i], &d->items[i]);
		*lens[i] = (size_t)d->items[i].size;
		ok = ok && *bufs[i];
	}
	for (size_t i = 0; i < e->ntrust && !c->err; i++) {
		char name[32];

		snprintf(name, sizeof(name), "trust[%zu]", i);
		e->trust[i] = load_blob(c, e->seq, name, &d->trust[i]);
		e->trust_len[i] = (size_t)d->trust[i].size;
		ok = ok && e->trust[i];
	}
	return ok && !c->err;
}

/* ---- re-verification ---- */

/* "accepted", "rejected: <reason>", from a verdict document. */
static void verdict_summary(const uint8_t *json, size_t len, char *buf, size_t size)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *result = NULL, *reason = NULL;
	const char *res;

	snprintf(buf, size, "not a verdict document");
	if (vigil_json_parse((const char *)json, len, VIGIL_ARCHIVE_ITEM_MAX, &o) < 0 ||
	    !json_object_object_get_ex(o, "result", &result) ||
	    !json_object_is_type(result, json_type_string))
		return;
	res = json_object_get_string(result);
	if (strcmp(res, "rejected") != 0 || !json_object_object_get_ex(o, "reason", &reason) ||
	    !json_object_is_type(reason, json_type_string))
		snprintf(buf, size, "%.32s", res);
	else
		snprintf(buf, size, "rejected: %.64s", json_object_get_string(reason));
}

static size_t first_line_differing(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t line = 1;

	for (size_t i = 0; i < alen && i < blen && a[i] == b[i]; i++)
		line += a[i] == '\n';
	return line;
}

static void compare_verdict(struct check *c, const struct vigil_archive_entry *e,
			    const struct vigil_verdict *v)
{
	_cleanup_free_ char *json = NULL;
	char archived[128], now[128];
	size_t len;

	if (vigil_verdict_to_json(v, &json) < 0) {
		c->err = -ENOMEM;
		return;
	}
	len = strlen(json);
	if (len == e->verdict_len && !memcmp(json, e->verdict, len))
		return;
	verdict_summary(e->verdict, e->verdict_len, archived, sizeof(archived));
	if (v->accepted)
		snprintf(now, sizeof(now), "accepted");
	else
		snprintf(now, sizeof(now), "rejected: %s", vigil_reject_name(v->reason));
	if (strcmp(archived, now) != 0)
		finding(c, e->seq, VIGIL_ARCHIVE_VERDICT_DIFFERS, "archived: %s, re-verified: %s",
			archived, now);
	else
		finding(c, e->seq, VIGIL_ARCHIVE_VERDICT_DIFFERS,
			"archived and re-verified verdicts are both %s but differ from line %zu on",
			now,
			first_line_differing((const char *)e->verdict, e->verdict_len, json, len));
}

/* The first claim two results differ in, for people. */
static void ear_difference(const struct vigil_ear *got, const struct vigil_ear *want, char *buf,
			   size_t size)
{
	snprintf(buf, size, "the claims differ");
	if (got->profile != want->profile || got->iat != want->iat ||
	    got->nonce_len != want->nonce_len ||
	    memcmp(got->nonce, want->nonce, got->nonce_len) != 0)
		snprintf(buf, size, "profile, iat or nonce differ from the entry's");
	else if (strcmp(got->policy_id, want->policy_id) != 0)
		snprintf(buf, size, "appraisal policy id: archived \"%.200s\", expected \"%.200s\"",
			 got->policy_id, want->policy_id);
	for (size_t s = VIGIL_SUBMOD_COUNT; s-- > 0;) {
		const struct vigil_ear_appraisal *x = &got->submods[s], *y = &want->submods[s];

		for (size_t k = VIGIL_TV_COUNT; k-- > 0;)
			if (x->has[k] != y->has[k] || (x->has[k] && x->tv[k] != y->tv[k]))
				snprintf(buf, size, "%s %s: archived %d, expected %d",
					 vigil_ear_submod_name(s), vigil_ear_claim_name(k),
					 x->has[k] ? x->tv[k] : 0, y->has[k] ? y->tv[k] : 0);
		if (x->status != y->status)
			snprintf(buf, size, "%s status: archived %s, expected %s",
				 vigil_ear_submod_name(s), vigil_ear_tier_name(x->status),
				 vigil_ear_tier_name(y->status));
	}
}

/* The EAR's claims as the re-verified verdict gives them; the verifier id as archived. */
static int expected_ear(const struct vigil_archive_entry *e, const struct vigil_verdict *v,
			const struct vigil_ear *got, struct vigil_ear *ret)
{
	char policy_id[VIGIL_EAR_POLICY_ID_MAX] = "";
	bool with_policy = v->policy_applied && e->policy;
	int r = 0;

	if (with_policy)
		r = vigil_ear_policy_id(v->policy_name, v->policy_version, e->policy, e->policy_len,
					policy_id, sizeof(policy_id));
	if (r == 0)
		r = vigil_ear_from_verdict(v, got->profile, e->nonce, e->nonce_len,
					   with_policy ? policy_id : NULL, got->iat, ret);
	if (r < 0)
		return r;
	memcpy(ret->developer, got->developer, sizeof(ret->developer));
	memcpy(ret->build, got->build, sizeof(ret->build));
	return 0;
}

static void check_ear(struct check *c, const struct vigil_archive_entry *e,
		      const struct vigil_verdict *v)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	struct vigil_ear got, want;
	const char *detail = NULL;
	char diff[512];
	int r;

	if (!e->ear)
		return;
	r = vigil_sigkey_load_public(e->ear_key, e->ear_key_len, &key);
	if (r == 0)
		r = vigil_ear_verify((const char *)e->ear, e->ear_len, &key, 1, &got, NULL,
				     &detail);
	if (r == -ENOMEM) {
		c->err = r;
		return;
	}
	if (r != VIGIL_EAR_VALID) {
		finding(c, e->seq, VIGIL_ARCHIVE_EAR_BAD,
			"the EAR does not verify under its key: %s%s%s",
			r < 0 ? "the key cannot be used" : vigil_ear_verdict_name(r),
			detail ? ": " : "", detail ? detail : "");
		return;
	}
	r = expected_ear(e, v, &got, &want);
	if (r < 0)
		finding(c, e->seq, VIGIL_ARCHIVE_EAR_DIFFERS, "no EAR follows from the verdict: %s",
			strerror(-r));
	else if (!vigil_ear_equal(&got, &want)) {
		ear_difference(&got, &want, diff, sizeof(diff));
		finding(c, e->seq, VIGIL_ARCHIVE_EAR_DIFFERS, "%s", diff);
	}
}

static void reverify(struct check *c, const struct vigil_archive_entry *e)
{
	struct vigil_reverify_input in = {
		.evidence = e->evidence,
		.evidence_len = e->evidence_len,
		.ak_pem = e->ak,
		.ak_pem_len = e->ak_len,
		.nonce = e->nonce,
		.nonce_len = e->nonce_len,
		.selection = e->selection,
		.bank = e->bank,
		.pcr = e->pcr,
		.policy = e->policy,
		.policy_len = e->policy_len,
		.trust = (const uint8_t *const *)e->trust,
		.trust_len = e->trust_len,
		.ntrust = e->ntrust,
		.policy_floor = e->policy_floor,
		.prev = e->have_prev ? &e->prev : NULL,
		.now = e->time,
	};
	struct vigil_verdict v;
	int r = vigil_reverify(&in, &v);

	if (r == -ENOMEM) {
		c->err = r;
		return;
	}
	if (r < 0) {
		finding(c, e->seq, VIGIL_ARCHIVE_VERDICT_DIFFERS,
			"cannot re-verify: the archived AK, trust keys or selection do not load");
		return;
	}
	c->res->attestations++;
	compare_verdict(c, e, &v);
	if (!c->err)
		check_ear(c, e, &v);
	vigil_verdict_release(&v);
}

/* ---- the walk ---- */

static void check_chain(struct check *c, const struct vigil_archive_doc *d)
{
	static const uint8_t zero[32];
	uint64_t seq = d->entry.seq;
	char have[17], want[17];

	if (seq == 1 && CRYPTO_memcmp(d->prev, zero, 32) != 0) {
		finding(c, seq, VIGIL_ARCHIVE_CHAIN_BROKEN, "entry 1 chains to an entry before it");
	} else if (seq > 1 && c->prev_seq == seq - 1 &&
		   CRYPTO_memcmp(d->prev, c->prev_sha, 32) != 0) {
		short_hex(d->prev, have);
		short_hex(c->prev_sha, want);
		finding(c, seq, VIGIL_ARCHIVE_CHAIN_BROKEN,
			"\"prev\" is %s..., the file of entry %llu hashes to %s... (edited, "
			"replaced or reordered)",
			have, (unsigned long long)(seq - 1), want);
	}
}

static void verify_entry(struct check *c, uint64_t seq)
{
	_cleanup_free_ uint8_t *text = NULL;
	struct vigil_archive_doc d = { 0 };
	uint8_t sha[32];
	size_t len = 0;

	c->bad = false;
	if (read_text(c, seq, &text, &len) < 0) {
		c->prev_seq = 0;
		return;
	}
	if (vigil_hash_digest(TPM2_ALG_SHA256, text, len, sha, sizeof(sha)) < 0) {
		c->err = -EIO;
		return;
	}
	c->res->entries++;
	c->res->head_seq = seq;
	memcpy(c->res->head_sha256, sha, 32);
	if (seq == c->head_seq) {
		c->head_entry_read = true;
		memcpy(c->head_entry_sha, sha, 32);
	}
	if (parse_entry(c, seq, text, len, &d) == 0) {
		d.entry.seq = seq; /* findings name the file's entry */
		check_chain(c, &d);
		if (c->have_head && seq > c->head_seq)
			finding(c, seq, VIGIL_ARCHIVE_HEAD_MISMATCH,
				"entry %llu is after the head (entry %llu)",
				(unsigned long long)seq, (unsigned long long)c->head_seq);
		memcpy(d.entry.entry_sha256, sha, 32);
		check_timestamp(c, &d.entry);
		if (load_items(c, &d) && d.entry.kind == VIGIL_ARCHIVE_ATTESTATION)
			reverify(c, &d.entry);
		vigil_archive_entry_release(&d.entry);
	}
	c->prev_seq = seq;
	memcpy(c->prev_sha, sha, 32);
}

/* Gaps before each entry up to the head; after the head, check_head() speaks. */
static int walk(struct check *c, const uint64_t *seqs, size_t n)
{
	for (size_t i = 0; i < n && !c->err; i++) {
		uint64_t seq = seqs[i], expected = i ? seqs[i - 1] + 1 : 1;

		if (seq > expected && (!c->have_head || seq <= c->head_seq) && seq - 1 == expected)
			finding(c, expected, VIGIL_ARCHIVE_SEQ_GAP, "entry %llu is missing",
				(unsigned long long)expected);
		else if (seq > expected && (!c->have_head || seq <= c->head_seq))
			finding(c, expected, VIGIL_ARCHIVE_SEQ_GAP,
				"entries %llu..%llu are missing", (unsigned long long)expected,
				(unsigned long long)(seq - 1));
		verify_entry(c, seq);
	}
	return c->err;
}

static void check_head(struct check *c, const uint64_t *seqs, size_t n)
{
	uint64_t top = 0;
	char have[17], want[17];

	if (!c->have_head || c->head_seq == 0)
		return;
	for (size_t i = 0; i < n && seqs[i] <= c->head_seq; i++)
		top = seqs[i];
	if (top < c->head_seq) {
		finding(c, top + 1, VIGIL_ARCHIVE_HEAD_MISMATCH,
			"head.json names entry %llu, the archive ends at entry %llu (truncated)",
			(unsigned long long)c->head_seq, (unsigned long long)top);
	} else if (c->head_entry_read && CRYPTO_memcmp(c->head_entry_sha, c->head_sha, 32) != 0) {
		short_hex(c->head_entry_sha, have);
		short_hex(c->head_sha, want);
		finding(c, c->head_seq, VIGIL_ARCHIVE_HEAD_MISMATCH,
			"the file of entry %llu hashes to %s..., head.json names %s... (edited or "
			"replaced)",
			(unsigned long long)c->head_seq, have, want);
	}
}

/**
 * vigil_archive_verify() - check an archive completely, offline
 * @dir: the archive directory
 * @tsa_ca: the TSA's CA certificate(s) (PEM) to check timestamp tokens' signatures with, or
 *	NULL: tokens are parsed and their imprints checked, counted in @ret->timestamps_unchecked
 * @tsa_ca_len: their length
 * @ret: on success, what was found; release with vigil_archive_result_release()
 *
 * Return: 0 (problems, if any, are findings in @ret); -ENOENT (@dir is not an archive);
 * -ENOTDIR; -EPROTONOSUPPORT (an archive of another format); -EBADMSG (@tsa_ca holds no
 * certificate); the negative errno of a directory or file that cannot be read at all; -ENOMEM.
 */
int vigil_archive_verify(const char *dir, const uint8_t *tsa_ca, size_t tsa_ca_len,
			 struct vigil_archive_result *ret)
{
	struct vigil_archive_result res = { 0 };
	struct check c = { .dir = dir, .ca = tsa_ca, .ca_len = tsa_ca_len, .res = &res };
	_cleanup_free_ uint64_t *seqs = NULL;
	size_t n = 0;
	int r = tsa_ca ? vigil_tsa_ca_check(tsa_ca, tsa_ca_len) : 0;

	if (r == 0)
		r = open_archive(&c);
	if (r == 0)
		r = list_entries(&c, &seqs, &n);
	if (r == 0)
		r = walk(&c, seqs, n);
	if (r == 0)
		check_head(&c, seqs, n);
	if (r == 0)
		r = c.err;
	if (r < 0) {
		vigil_archive_result_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}

/* ---- reading for reports ---- */

static int foreach_entry(struct check *c, uint64_t seq,
			 int (*fn)(void *ctx, const struct vigil_archive_entry *e), void *ctx)
{
	_cleanup_free_ uint8_t *text = NULL;
	struct vigil_archive_doc d = { 0 };
	size_t len = 0;
	int r = 0;

	c->bad = false;
	if (read_text(c, seq, &text, &len) < 0 || parse_entry(c, seq, text, len, &d) < 0)
		return c->err;
	if (vigil_hash_digest(TPM2_ALG_SHA256, text, len, d.entry.entry_sha256, 32) < 0)
		c->err = -EIO;
	if (!c->err)
		check_timestamp(c, &d.entry);
	if (!c->err && load_items(c, &d) && !c->bad)
		r = fn(ctx, &d.entry);
	vigil_archive_entry_release(&d.entry);
	return c->err ? c->err : r;
}

/**
 * vigil_archive_foreach() - call @fn for each entry that passes its own checks, in order
 * @dir: the archive directory
 * @fn: called with each entry (items read and checked against their digests; a timestamp
 *	token's genTime when its imprint matches); a non-zero return stops the walk
 * @ctx: passed to @fn
 *
 * An entry's own checks: its file reads and parses, is canonical, is the entry its file name
 * says, and its items match their digests. The chain, the head and re-verification are
 * vigil_archive_verify()'s; entries after the head (when there is one) are not read.
 *
 * Return: 0; @fn's non-zero return; -ENOENT / -ENOTDIR (not an archive); the negative errno of
 * a directory that cannot be read; -ENOMEM.
 */
int vigil_archive_foreach(const char *dir,
			  int (*fn)(void *ctx, const struct vigil_archive_entry *e), void *ctx)
{
	struct check c = { .dir = dir };
	_cleanup_free_ uint64_t *seqs = NULL;
	size_t n = 0;
	int r = open_archive(&c);

	if (r == 0)
		r = list_entries(&c, &seqs, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (c.have_head && seqs[i] > c.head_seq)
			break;
		r = foreach_entry(&c, seqs[i], fn, ctx);
	}
	return r;
}
