// SPDX-License-Identifier: MIT
/*
 * report.c: the compliance report's model, read from the evidence archive: one pass over the
 * entries (vigil_archive_foreach()), keeping the selected device and period, then the
 * conclusions (how each violation ended, gaps between attestations, the requirement
 * statuses of report_trace.c) and the rendering (report_html.c, report_json.c).
 *
 * What an attestation entry contributes: its verdict JSON (result, reason, the policy it
 * applied, every record failure), the archived AK (its key id is computed, not taken from the
 * verdict), the signed policy's SHA-256, the EAR checked against the archived EAR key, and the
 * measured files: the records with a name and a file digest among the first records_covered
 * of the evidence's log, i.e. only what replays to a verified quote. Monitoring entries give
 * the opt-out periods; the last one of a device before the period tells the state the period
 * starts in.
 *
 * Invariants: strings copied into the model are valid UTF-8 without control characters
 * (vigil_report_text()); an unreadable verdict becomes an untrusted row with reason
 * "verdict_unreadable", never a guess; at most REPORT_ROWS_MAX rows of each kind (the rest
 * counted); the report id is a digest of what selects the content, so the same archive head,
 * selection, SBOM and generation time give the same id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "archive_internal.h"
#include "attest.h"
#include "cleanup.h"
#include "compliance.h"
#include "log.h"
#include "policy.h"
#include "report_internal.h"
#include "uapi/vigil.h"

/* While reading: the last monitoring entry of each device before the period. */
struct reader {
	struct report *r;
	struct report_monitoring *before;
	size_t nbefore, before_cap;
	uint64_t last_seq;
	uint8_t last_sha256[32];
};

/**
 * vigil_report_text() - untrusted bytes as text safe to show and to put in JSON
 * @s: the bytes
 * @len: their number
 * @lines: keep line feeds (multi-line text such as a PEM key)
 *
 * Valid UTF-8 is kept; each byte that is not part of a valid sequence, and each control
 * character (but line feeds with @lines), becomes the four characters "\xNN".
 *
 * Return: a NUL-terminated copy (free() it), or NULL when out of memory.
 */
char *vigil_report_text(const void *s, size_t len, bool lines)
{
	const unsigned char *u = s;
	char *out = malloc(len * 4 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = u[i] >= 0x80 ? vigil_utf8_seq(u + i, len - i) : 1;

		if (n > 1) {
			memcpy(p, u + i, n);
			p += n;
			i += n;
		} else if ((u[i] < 0x20 && !(lines && u[i] == '\n')) || u[i] >= 0x7f) {
			p += sprintf(p, "\\x%02x", u[i++]);
		} else {
			*p++ = (char)u[i++];
		}
	}
	*p = '\0';
	return out;
}

/**
 * vigil_report_time() - a time as the report shows it, RFC 3339 UTC
 * @t: seconds since the epoch
 * @buf: receives "YYYY-MM-DDTHH:MM:SSZ" ("@<seconds>" for a time gmtime cannot show)
 * @size: its size, at least 21
 */
void vigil_report_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%lld", (long long)t);
}

static char *dup_text(const char *s)
{
	return vigil_report_text(s, strlen(s), false);
}

/* A string member as a sanitized copy in *@ret (NULL when absent or not a string). */
static int copy_str(struct json_object *o, const char *key, char **ret)
{
	struct json_object *v;

	*ret = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	*ret = vigil_report_text(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				 false);
	return *ret ? 0 : -ENOMEM;
}

static bool get_u64(struct json_object *o, const char *key, uint64_t *ret)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static struct json_object *get_obj(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static bool selected(const struct vigil_report_options *o, const struct vigil_archive_entry *e)
{
	return (!o->device || !strcmp(o->device, e->device)) && e->time >= o->from &&
	       e->time <= o->to;
}

static void hex(const uint8_t *d, size_t len, char *out, size_t size)
{
	if (vigil_hex_encode(d, len, out, size) < 0)
		out[0] = '\0';
}

static int sha256(const void *data, size_t len, uint8_t out[32])
{
	return vigil_hash_digest(TPM2_ALG_SHA256, data, len, out, 32);
}

/* ---- devices ---- */

static struct report_device *find_device(struct report *r, const char *name, size_t *ret_idx)
{
	for (size_t i = 0; i < r->ndevs; i++)
		if (!strcmp(r->devs[i].name, name)) {
			*ret_idx = i;
			return &r->devs[i];
		}
	return NULL;
}

/* The device of an entry, added at its first appearance. */
static int device_of(struct report *r, const char *name, int64_t time, size_t *ret_idx)
{
	struct report_device *d = find_device(r, name, ret_idx);
	int e;

	if (d)
		return 0;
	e = vigil_grow(&r->devs, r->ndevs, &r->devs_cap, sizeof(*r->devs), 16);
	if (e < 0)
		return e;
	d = &r->devs[r->ndevs];
	*d = (struct report_device){ .first = time, .last = time };
	d->name = dup_text(name);
	if (!d->name)
		return -ENOMEM;
	*ret_idx = r->ndevs++;
	return 0;
}

/* The AK an attestation was verified with, once per key and device. */
static int device_ak(struct report_device *d, const struct vigil_archive_entry *e,
		     const char *keyid)
{
	struct report_ak *ak;

	for (size_t i = 0; i < d->naks; i++)
		if (!strcmp(d->aks[i].keyid, keyid)) {
			d->aks[i].last = e->time;
			return 0;
		}
	if (d->naks == REPORT_AKS_MAX) {
		d->aks_dropped++;
		return 0;
	}
	ak = &d->aks[d->naks];
	*ak = (struct report_ak){ .first = e->time, .last = e->time };
	snprintf(ak->keyid, sizeof(ak->keyid), "%s", keyid);
	ak->pem = vigil_report_text(e->ak, e->ak_len, true);
	if (!ak->pem)
		return -ENOMEM;
	d->naks++;
	return 0;
}

static void device_count(struct report_device *d, int64_t time, bool trusted, bool first)
{
	if (!first && time - d->last > d->max_gap)
		d->max_gap = time - d->last;
	d->last = time;
	if (trusted)
		d->trusted++;
	else
		d->untrusted++;
}

/* ---- policies ---- */

/* Name and version from the envelope's payload (its signature unchecked: no verdict applied
 * it), read by the policy parser itself so a malformed one stays unnamed. */
static int policy_payload_info(const uint8_t *env, size_t len, struct report_policy *p)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *d = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *pol = NULL;
	struct vigil_policy_error err;
	int r = vigil_dsse_parse((const char *)env, len, VIGIL_POLICY_MAX, &d);

	if (r == 0)
		r = vigil_policy_parse((const char *)d->payload, d->payload_len, &pol, &err);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	p->name = dup_text(vigil_policy_info(pol)->name);
	p->version = vigil_policy_info(pol)->version;
	return p->name ? 0 : -ENOMEM;
}

/* The policy of an attestation, by the SHA-256 of its envelope. */
static int policy_of(struct report *r, const struct vigil_archive_entry *e, size_t *ret_idx)
{
	struct report_policy *p;
	uint8_t d[32];
	char h[65];
	int err = sha256(e->policy, e->policy_len, d);

	if (err < 0)
		return err;
	hex(d, 32, h, sizeof(h));
	for (size_t i = 0; i < r->npols; i++)
		if (!strcmp(r->pols[i].sha256, h)) {
			r->pols[i].last = e->time;
			r->pols[i].uses++;
			*ret_idx = i;
			return 0;
		}
	err = vigil_grow(&r->pols, r->npols, &r->pols_cap, sizeof(*r->pols), 16);
	if (err < 0)
		return err;
	p = &r->pols[r->npols];
	*p = (struct report_policy){ .first = e->time, .last = e->time, .uses = 1 };
	memcpy(p->sha256, h, sizeof(h));
	*ret_idx = r->npols++;
	return policy_payload_info(e->policy, e->policy_len, p);
}

/* What the verdict says about the policy it applied overrides what the payload claims. */
static int policy_applied(struct report *r, struct report_attestation *a, struct json_object *pol)
{
	struct report_policy *p = &r->pols[a->policy];
	char *name = NULL, *signer = NULL;
	int err = copy_str(pol, "name", &name);

	if (err == 0)
		err = copy_str(pol, "signer_keyid", &signer);
	if (err < 0) {
		free(name);
		return err;
	}
	if (name) {
		free(p->name);
		p->name = name;
	}
	get_u64(pol, "version", &p->version);
	if (signer)
		snprintf(p->signer, sizeof(p->signer), "%s", signer);
	free(signer);
	p->applied = true;
	a->policy_applied = true;
	get_u64(pol, "records_checked", &a->records_checked);
	get_u64(pol, "records_excluded", &a->records_excluded);
	a->boot_appraised = get_bool(pol, "boot_appraised");
	return 0;
}

/* ---- violations ---- */

static void violation_release(struct report_violation *v)
{
	free(v->path);
	free(v->reason);
	free(v->hook);
	free(v->alg);
	free(v->digest);
	for (size_t i = 0; i < v->nexpected; i++)
		free(v->expected[i]);
	free(v->expected);
}

/* Keep @v (taking what it owns), or count it when the model is full. */
static int add_violation(struct report *r, struct report_violation *v)
{
	int err;

	if (r->nviols == REPORT_ROWS_MAX) {
		r->dropped_viols++;
		violation_release(v);
		return 0;
	}
	err = vigil_grow(&r->viols, r->nviols, &r->viols_cap, sizeof(*r->viols), 16);
	if (err < 0) {
		violation_release(v);
		return err;
	}
	r->viols[r->nviols++] = *v;
	r->atts[v->att].violations++;
	return 0;
}

static int read_expected(struct json_object *f, struct report_violation *v)
{
	struct json_object *exp = get_obj(f, "expected", json_type_array);
	size_t n = exp ? json_object_array_length(exp) : 0;

	if (n > VIGIL_RECORD_EXPECTED_MAX)
		n = VIGIL_RECORD_EXPECTED_MAX;
	v->expected = calloc(n ? n : 1, sizeof(*v->expected));
	if (!v->expected)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(exp, i);

		if (!json_object_is_type(d, json_type_string))
			continue;
		v->expected[v->nexpected] = dup_text(json_object_get_string(d));
		if (!v->expected[v->nexpected++])
			return -ENOMEM;
	}
	if (!get_u64(f, "expected_count", &v->expected_count))
		v->expected_count = v->nexpected;
	return 0;
}

/* The SBOM component of a failure's measured digest, when it is a SHA-256 the SBOM lists. */
static const struct vigil_sbom_component *component_of(const struct report *r, const char *alg,
						       const char *digest)
{
	uint8_t d[32];
	size_t n;

	if (!r->o->sbom || !alg || !digest || strcmp(alg, "sha256") != 0 || strlen(digest) != 64 ||
	    vigil_hex_decode(digest, 64, d, sizeof(d), &n) < 0)
		return NULL;
	return vigil_sbom_lookup(r->o->sbom, d);
}

static int read_failure(struct report *r, size_t att, struct json_object *f)
{
	struct report_violation v = { .att = att, .record = true, .resolved_by = REPORT_NONE };
	int err = 0;

	if (!json_object_is_type(f, json_type_object))
		return 0;
	get_u64(f, "index", &v.index);
	v.warning = get_bool(f, "warning");
	err = copy_str(f, "path", &v.path);
	if (err == 0)
		err = copy_str(f, "reason", &v.reason);
	if (err == 0)
		err = copy_str(f, "hook", &v.hook);
	if (err == 0)
		err = copy_str(f, "alg", &v.alg);
	if (err == 0)
		err = copy_str(f, "digest", &v.digest);
	if (err == 0)
		err = read_expected(f, &v);
	if (err < 0) {
		violation_release(&v);
		return err;
	}
	v.component = component_of(r, v.alg, v.digest);
	return add_violation(r, &v);
}

/* A rejection that names no record (bad signature, golden PCRs, ...) is one violation. */
static int attestation_violation(struct report *r, size_t att)
{
	struct report_violation v = { .att = att, .resolved_by = REPORT_NONE };

	v.reason = strdup(r->atts[att].reason ? r->atts[att].reason : "unknown");
	if (!v.reason)
		return -ENOMEM;
	return add_violation(r, &v);
}

static int read_failures(struct report *r, size_t att, struct json_object *verdict)
{
	struct json_object *fails = get_obj(verdict, "failures", json_type_array);
	size_t n = fails ? json_object_array_length(fails) : 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		err = read_failure(r, att, json_object_array_get_idx(fails, i));
		if (err < 0)
			return err;
	}
	if (!r->atts[att].trusted && !r->atts[att].violations)
		return attestation_violation(r, att);
	return 0;
}

/* ---- measured files ---- */

/* Open addressing over indexes into report.files; empty slots are REPORT_NONE. */
struct file_set {
	size_t *slots;
	size_t cap; /* a power of two, at least twice the number of files */
};

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t file_hash(const char *path, const char *alg, const char *digest)
{
	return fnv1a(digest, fnv1a(alg, fnv1a(path, 0xcbf29ce484222325ull)));
}

static size_t *file_slot(const struct report *r, const struct file_set *set, const char *path,
			 const char *alg, const char *digest)
{
	size_t i = (size_t)file_hash(path, alg, digest) & (set->cap - 1);

	for (;; i = (i + 1) & (set->cap - 1)) {
		const struct report_file *f;

		if (set->slots[i] == REPORT_NONE)
			return &set->slots[i];
		f = &r->files[set->slots[i]];
		if (!strcmp(f->digest, digest) && !strcmp(f->alg, alg) && !strcmp(f->path, path))
			return &set->slots[i];
	}
}

static int set_grow(struct report *r, struct file_set *set)
{
	size_t cap = set->cap ? set->cap * 2 : 1024;
	size_t *old = set->slots;

	if (2 * (r->nfiles + 1) <= set->cap)
		return 0;
	set->slots = malloc(cap * sizeof(*set->slots));
	if (!set->slots) {
		set->slots = old;
		return -ENOMEM;
	}
	memset(set->slots, 0xff, cap * sizeof(*set->slots)); /* REPORT_NONE */
	set->cap = cap;
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct report_file *f = &r->files[i];

		*file_slot(r, set, f->path, f->alg, f->digest) = i;
	}
	free(old);
	return 0;
}

static void attribute(struct report *r, struct report_file *f, const uint8_t *digest, size_t len)
{
	if (strcmp(f->alg, "sha256") != 0 || len != 32)
		return;
	r->files_sha256++;
	if (r->o->sbom)
		f->component = vigil_sbom_lookup(r->o->sbom, digest);
	if (f->component)
		r->files_matched++;
}

static int add_file(struct report *r, const struct vigil_log_fields *fl)
{
	struct file_set *set = r->file_set;
	_cleanup_free_ char *path = NULL;
	char digest[REPORT_HEX_MAX];
	struct report_file *f;
	int err;

	if (fl->digest_len > VIGIL_LOG_DIGEST_MAX || strlen(fl->digest_alg) >= sizeof(f->alg))
		return 0;
	if (r->nfiles == REPORT_ROWS_MAX) {
		r->dropped_files++; /* records, from here on: they are not told apart any more */
		return 0;
	}
	path = vigil_report_text(fl->name, fl->name_len, false);
	if (!path)
		return -ENOMEM;
	hex(fl->digest, fl->digest_len, digest, sizeof(digest));
	if (set->cap && *file_slot(r, set, path, fl->digest_alg, digest) != REPORT_NONE)
		return 0; // NOLINT(clang-analyzer-unix.Malloc): path is _cleanup_free_
	err = set_grow(r, set);
	if (err == 0)
		err = vigil_grow(&r->files, r->nfiles, &r->files_cap, sizeof(*r->files), 16);
	if (err < 0)
		return err; // NOLINT(clang-analyzer-unix.Malloc): path is _cleanup_free_
	f = &r->files[r->nfiles];
	*f = (struct report_file){ .path = TAKE_PTR(path) };
	snprintf(f->alg, sizeof(f->alg), "%s", fl->digest_alg);
	memcpy(f->digest, digest, sizeof(digest));
	*file_slot(r, set, f->path, f->alg, f->digest) = r->nfiles++;
	attribute(r, f, fl->digest, fl->digest_len);
	return 0;
}

/* A file measurement: a name and a file digest, not boot_aggregate or the rules record. */
static bool is_file(const struct vigil_log_record *rec, const struct vigil_log_fields *f)
{
	if (rec->flags & VIGIL_LOG_VIOLATION || !f->name || !f->digest || !f->digest_alg)
		return false;
	if (f->has_ctx)
		return f->ctx.hook != VIGIL_HOOK_NONE;
	return !(f->name_len == 14 && !memcmp(f->name, "boot_aggregate", 14));
}

/* The records of the evidence's log that replay to the verified quote. */
static int read_files(struct report *r, const struct vigil_archive_entry *e,
		      const struct report_attestation *a)
{
	const struct vigil_log_options opts = { .flags = VIGIL_LOG_ALLOW_EMPTY };
	_cleanup_(vigil_evidence_freep) struct vigil_evidence *ev = NULL;
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	int err;

	if (!a->have_covered || !e->evidence)
		return 0;
	err = vigil_evidence_parse((const char *)e->evidence, e->evidence_len, &ev);
	if (err == 0 && ev->log && !ev->log_from)
		err = vigil_log_parse(ev->log, ev->log_len, &opts, &log, NULL);
	if (err < 0 || !log)
		return err == -ENOMEM ? err : 0;
	for (size_t i = 0; i < log->count && i < a->records_covered; i++) {
		struct vigil_log_fields f;

		if (log->records[i].pcr != e->pcr ||
		    vigil_log_record_fields(log, &log->records[i], &f) < 0 ||
		    !is_file(&log->records[i], &f))
			continue;
		err = add_file(r, &f);
		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- attestations ---- */

/* The archived EAR, checked under the archived EAR key; what does not verify says why. */
static int read_ear(const struct vigil_archive_entry *e, struct report_ear *ear)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	struct vigil_ear claims;
	const char *detail = NULL;
	int err;

	if (!e->ear)
		return 0;
	ear->present = true;
	err = sha256(e->ear, e->ear_len, ear->sha256);
	if (err < 0)
		return err;
	if (!e->ear_key || vigil_sigkey_load_public(e->ear_key, e->ear_key_len, &key) < 0) {
		ear->problem = "no usable EAR signing key is archived with it";
		return 0;
	}
	err = vigil_ear_verify((const char *)e->ear, e->ear_len, &key, 1, &claims, NULL, &detail);
	if (err < 0)
		return err;
	if (err != VIGIL_EAR_VALID) {
		ear->problem = detail ? detail : vigil_ear_verdict_name(err);
		return 0;
	}
	ear->valid = true;
	for (size_t i = 0; i < VIGIL_SUBMOD_COUNT; i++)
		ear->status[i] = claims.submods[i].status;
	return 0;
}

/* The AK's key id, computed from the archived key itself. */
static void ak_keyid(const struct vigil_archive_entry *e, char out[65])
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *ak = NULL;
	uint8_t id[VIGIL_AK_KEYID_SIZE];

	out[0] = '\0';
	if (e->ak && vigil_ak_pem_parse(e->ak, e->ak_len, &ak) == 0 && vigil_ak_keyid(ak, id) == 0)
		hex(id, sizeof(id), out, 65);
}

static int read_verdict(struct report *r, struct report_attestation *a, struct json_object *v)
{
	struct json_object *q = get_obj(v, "quote", json_type_object);
	struct json_object *pol = get_obj(v, "policy", json_type_object);
	_cleanup_free_ char *result = NULL, *keyid = NULL;
	int err = copy_str(v, "result", &result);

	if (err == 0)
		err = copy_str(v, "ak_keyid", &keyid);
	a->trusted = result && !strcmp(result, "accepted");
	if (err == 0 && !a->trusted)
		err = copy_str(v, "reason", &a->reason);
	if (err == 0 && !a->trusted)
		err = copy_str(v, "failed_check", &a->failed_check);
	if (err == 0)
		err = copy_str(v, "detail", &a->detail);
	if (err < 0)
		return err;
	if (!a->ak_keyid[0] && keyid)
		snprintf(a->ak_keyid, sizeof(a->ak_keyid), "%s", keyid);
	a->have_quote = get_u64(q, "clock", &a->clock);
	get_u64(q, "reset_count", &a->reset_count);
	get_u64(q, "restart_count", &a->restart_count);
	a->have_log = get_u64(v, "log_records", &a->log_records);
	a->have_covered = get_u64(v, "records_covered", &a->records_covered);
	if (pol && a->policy != REPORT_NONE)
		return policy_applied(r, a, pol);
	return 0;
}

/* The verdict as archived; one that does not parse is shown as such, never guessed at. */
static int verdict_of(struct report *r, const struct vigil_archive_entry *e,
		      struct report_attestation *a, struct json_object **ret)
{
	int err = -EBADMSG;

	if (e->verdict)
		err = vigil_json_parse((const char *)e->verdict, e->verdict_len,
				       VIGIL_ARCHIVE_ITEM_MAX, ret);
	if (err == -ENOMEM)
		return err;
	if (err < 0 || !json_object_is_type(*ret, json_type_object)) {
		a->reason = strdup("verdict_unreadable");
		return a->reason ? 0 : -ENOMEM;
	}
	return read_verdict(r, a, *ret);
}

/* A new attestation row, its identity filled; *@ret points into r->atts. */
static int new_attestation(struct report *r, const struct vigil_archive_entry *e,
			   struct report_attestation **ret)
{
	struct report_attestation *a;
	size_t dev = 0;
	int err = device_of(r, e->device, e->time, &dev);

	if (err == 0)
		err = vigil_grow(&r->atts, r->natts, &r->atts_cap, sizeof(*r->atts), 16);
	if (err < 0)
		return err;
	a = &r->atts[r->natts];
	*a = (struct report_attestation){ .seq = e->seq,
					  .dev = dev,
					  .time = e->time,
					  .policy = REPORT_NONE,
					  .have_timestamp = e->have_timestamp,
					  .timestamp = e->timestamp };
	memcpy(a->entry_sha256, e->entry_sha256, 32);
	a->device = dup_text(e->device);
	r->natts++; /* owned by the model from here on, whatever fails next */
	if (!a->device)
		return -ENOMEM;
	ak_keyid(e, a->ak_keyid);
	*ret = a;
	return 0;
}

static int read_attestation(struct report *r, const struct vigil_archive_entry *e)
{
	_cleanup_(json_object_putp) struct json_object *v = NULL;
	struct report_attestation *a = NULL;
	struct report_device *d;
	size_t att = r->natts;
	int err;

	if (r->natts == REPORT_ROWS_MAX) {
		r->dropped_atts++;
		return 0;
	}
	err = new_attestation(r, e, &a);
	if (err == 0 && e->policy)
		err = policy_of(r, e, &a->policy);
	if (err == 0)
		err = verdict_of(r, e, a, &v);
	if (err == 0)
		err = read_ear(e, &a->ear);
	if (err < 0)
		return err;
	d = &r->devs[a->dev];
	device_count(d, e->time, a->trusted, d->trusted + d->untrusted == 0);
	if (a->ak_keyid[0] && e->ak)
		err = device_ak(d, e, a->ak_keyid);
	if (err == 0)
		err = v ? read_failures(r, att, v) : attestation_violation(r, att);
	if (err == 0)
		err = read_files(r, e, a);
	return err;
}

/* ---- monitoring ---- */

static void monitoring_release(struct report_monitoring *m)
{
	free(m->device);
	free(m->by);
	free(m->reason);
}

static int monitoring_row(struct report_monitoring *m, const struct vigil_archive_entry *e,
			  bool before)
{
	*m = (struct report_monitoring){ .seq = e->seq,
					 .time = e->time,
					 .off = e->monitoring_off,
					 .before = before,
					 .have_timestamp = e->have_timestamp };
	m->device = dup_text(e->device);
	m->by = dup_text(e->by ? e->by : "");
	m->reason = dup_text(e->reason ? e->reason : "");
	if (!m->device || !m->by || !m->reason) {
		monitoring_release(m);
		return -ENOMEM;
	}
	return 0;
}

/* Before the period only the last change of each device counts: the state it starts in. */
static int monitoring_before(struct reader *rd, const struct vigil_archive_entry *e)
{
	struct report_monitoring m;
	int err = monitoring_row(&m, e, true);

	if (err < 0)
		return err;
	for (size_t i = 0; i < rd->nbefore; i++)
		if (!strcmp(rd->before[i].device, m.device)) {
			monitoring_release(&rd->before[i]);
			rd->before[i] = m;
			return 0;
		}
	err = vigil_grow(&rd->before, rd->nbefore, &rd->before_cap, sizeof(*rd->before), 16);
	if (err < 0) {
		monitoring_release(&m);
		return err;
	}
	rd->before[rd->nbefore++] = m;
	return 0;
}

static int read_monitoring(struct reader *rd, const struct vigil_archive_entry *e)
{
	struct report *r = rd->r;
	size_t dev;
	int err;

	if ((r->o->device && strcmp(r->o->device, e->device) != 0) || e->time > r->o->to)
		return 0;
	if (e->time < r->o->from)
		return monitoring_before(rd, e);
	if (r->nmons == REPORT_ROWS_MAX) {
		r->dropped_mons++;
		return 0;
	}
	err = device_of(r, e->device, e->time, &dev);
	if (err == 0)
		err = vigil_grow(&r->mons, r->nmons, &r->mons_cap, sizeof(*r->mons), 16);
	if (err == 0)
		err = monitoring_row(&r->mons[r->nmons], e, false);
	if (err < 0)
		return err;
	r->nmons++;
	r->monitoring_used |= e->monitoring_off;
	return 0;
}

static int on_entry(void *ctx, const struct vigil_archive_entry *e)
{
	struct reader *rd = ctx;
	struct report *r = rd->r;
	bool sel = selected(r->o, e);

	r->entries++;
	rd->last_seq = e->seq;
	memcpy(rd->last_sha256, e->entry_sha256, 32);
	if (sel && !r->selected++)
		r->first = e->time;
	if (sel)
		r->last = e->time;
	if (e->kind == VIGIL_ARCHIVE_MONITORING)
		return read_monitoring(rd, e);
	return sel ? read_attestation(r, e) : 0;
}

/* ---- conclusions ---- */

/**
 * vigil_report_violation_status() - how a violation ended
 * @r: the model
 * @v: one of its violations
 *
 * Return: "warning" (listed by a policy that does not reject it: its attestation was
 * trusted), "resolved" (a later attestation of the device was trusted) or "open".
 */
const char *vigil_report_violation_status(const struct report *r, const struct report_violation *v)
{
	if (r->atts[v->att].trusted)
		return "warning";
	return v->resolved_by == REPORT_NONE ? "open" : "resolved";
}

/* An opt-out in force when the period starts is the period's first monitoring row. */
static int merge_before(struct reader *rd)
{
	struct report *r = rd->r;
	size_t off = 0, k = 0;
	struct report_monitoring *all;

	for (size_t i = 0; i < rd->nbefore; i++)
		off += rd->before[i].off;
	if (!off)
		return 0;
	all = reallocarray(NULL, r->nmons + off, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < rd->nbefore; i++)
		if (rd->before[i].off) {
			all[k++] = rd->before[i];
			rd->before[i] = (struct report_monitoring){ 0 };
		}
	if (r->nmons)
		memcpy(all + k, r->mons, r->nmons * sizeof(*all));
	free(r->mons);
	r->mons = all;
	r->nmons += off;
	r->mons_cap = r->nmons;
	r->monitoring_used = true;
	return 0;
}

/* Each violation ends at the next trusted attestation of its device, if there is one. */
static int resolve(struct report *r)
{
	_cleanup_free_ size_t *next = calloc(r->ndevs ? r->ndevs : 1, sizeof(*next));
	_cleanup_free_ size_t *after = calloc(r->natts ? r->natts : 1, sizeof(*after));
	bool open = false;

	if (!next || !after)
		return -ENOMEM; // NOLINT(clang-analyzer-unix.Malloc): both are _cleanup_free_
	for (size_t d = 0; d < r->ndevs; d++)
		next[d] = REPORT_NONE;
	for (size_t i = r->natts; i-- > 0;) {
		after[i] = next[r->atts[i].dev];
		if (r->atts[i].trusted)
			next[r->atts[i].dev] = i;
		/* the device's last attestation: untrusted means it did not recover */
		if (after[i] == REPORT_NONE && next[r->atts[i].dev] == REPORT_NONE)
			open = true;
	}
	for (size_t i = 0; i < r->nviols; i++) {
		r->viols[i].resolved_by = after[r->viols[i].att];
		r->open_viols += !strcmp(vigil_report_violation_status(r, &r->viols[i]), "open");
	}
	r->result = open ? "open" : r->nviols || r->dropped_viols ? "resolved" : "trusted";
	return 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparison function */
static int cmp_file(const void *a, const void *b)
{
	const struct report_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : strcmp(x->digest, y->digest);
}

static void free_set(struct report *r)
{
	struct file_set *set = r->file_set;

	if (set)
		free(set->slots);
	free(set);
	r->file_set = NULL;
}

static void sort_files(struct report *r)
{
	free_set(r);
	if (r->nfiles)
		qsort(r->files, r->nfiles, sizeof(*r->files), cmp_file);
}

/* A name-based UUID (RFC 9562 version 8) from what selects the report's content. */
static int report_id(struct report *r)
{
	const struct vigil_report_options *o = r->o;
	_cleanup_free_ char *text = NULL;
	char head[65], bom[65] = "";
	uint8_t d[32];
	int n, err;

	hex(r->head, 32, head, sizeof(head));
	if (o->sbom)
		hex(o->sbom_sha256, 32, bom, sizeof(bom));
	n = asprintf(&text, "vigil-report\n%llu\n%s\n%s\n%lld\n%lld\n%lld\n%s\n",
		     (unsigned long long)r->head_seq, head, o->device ? o->device : "*",
		     (long long)o->from, (long long)o->to, (long long)o->now, bom);
	if (n < 0)
		return -ENOMEM;
	err = sha256(text, (size_t)n, d);
	if (err < 0)
		return err;
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x80);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	snprintf(r->id, sizeof(r->id),
		 "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12],
		 d[13], d[14], d[15]);
	return 0;
}

/* The head the archive names; the last entry read when head.json cannot be read. */
static void read_head(struct report *r, const struct reader *rd)
{
	if (vigil_archive_head_read(r->o->archive, &r->head_seq, r->head) == 0) {
		r->have_head = true;
		return;
	}
	r->head_seq = rd->last_seq;
	memcpy(r->head, rd->last_sha256, 32);
	r->have_head = rd->last_seq > 0;
}

static int conclude(struct report *r, struct reader *rd)
{
	int err = merge_before(rd);

	if (err == 0)
		err = resolve(r);
	if (err < 0)
		return err;
	sort_files(r);
	read_head(r, rd);
	vigil_report_time(r->o->now, r->generated, sizeof(r->generated));
	if (r->o->from != INT64_MIN)
		vigil_report_time(r->o->from, r->from, sizeof(r->from));
	if (r->o->to != INT64_MAX)
		vigil_report_time(r->o->to, r->to, sizeof(r->to));
	err = report_id(r);
	if (err == 0)
		err = vigil_report_requirements(r);
	return err;
}

static void reader_release(struct reader *rd)
{
	for (size_t i = 0; i < rd->nbefore; i++)
		monitoring_release(&rd->before[i]);
	free(rd->before);
}

/**
 * vigil_report_model() - read the archive into a report's model
 * @o: what to report
 * @ret: the model (zeroed by the caller); release it with vigil_report_release(), also
 *	after a failure
 *
 * Return: 0; -ENOENT when no entry is in the selection; -ENOTDIR when @o->archive is not
 * an archive; vigil_archive_foreach()'s other errors; -ENOMEM.
 */
int vigil_report_model(const struct vigil_report_options *o, struct report *ret)
{
	struct reader rd = { .r = ret };
	int err;

	ret->o = o;
	ret->file_set = calloc(1, sizeof(struct file_set));
	if (!ret->file_set)
		return -ENOMEM;
	err = vigil_archive_foreach(o->archive, on_entry, &rd);
	if (err == -ENOENT)
		err = -ENOTDIR; /* -ENOENT is kept for "nothing selected" */
	if (err == 0 && !ret->selected)
		err = -ENOENT;
	if (err == 0)
		err = conclude(ret, &rd);
	reader_release(&rd);
	return err;
}

/**
 * vigil_report_release() - release what a report's model owns
 * @r: the model
 */
void vigil_report_release(struct report *r)
{
	for (size_t i = 0; i < r->natts; i++) {
		free(r->atts[i].device);
		free(r->atts[i].reason);
		free(r->atts[i].failed_check);
		free(r->atts[i].detail);
	}
	for (size_t i = 0; i < r->nviols; i++)
		violation_release(&r->viols[i]);
	for (size_t i = 0; i < r->nmons; i++)
		monitoring_release(&r->mons[i]);
	for (size_t i = 0; i < r->ndevs; i++) {
		free(r->devs[i].name);
		for (size_t k = 0; k < r->devs[i].naks; k++)
			free(r->devs[i].aks[k].pem);
	}
	for (size_t i = 0; i < r->npols; i++)
		free(r->pols[i].name);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	for (size_t i = 0; i < r->nreqs; i++)
		free(r->reqs[i].evidence);
	free(r->atts);
	free(r->viols);
	free(r->mons);
	free(r->devs);
	free(r->pols);
	free(r->files);
	free_set(r);
}

static int render_html(const struct report *r, char **ret, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return -ENOMEM;
	err = vigil_report_html(r, f);
	if (fclose(f) != 0 && err == 0)
		err = -ENOMEM;
	if (err < 0) {
		free(text);
		return err;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

/**
 * vigil_report_build() - read the archive and write the compliance report
 * @o: what to report
 * @format: HTML, or the in-toto Statement (JSON, unsigned)
 * @ret: on success, the text, NUL-terminated; free() it
 * @ret_len: on success, its length
 * @ret_stats: on success, what it covers (may be NULL)
 *
 * Return: 0; -ENOENT when no entry is in the selection; -ENOTDIR when @o->archive is not an
 * archive; -EINVAL for options that cannot select anything; vigil_archive_foreach()'s other
 * errors (a directory that cannot be read); -ENOMEM.
 */
int vigil_report_build(const struct vigil_report_options *o, enum vigil_report_format format,
		       char **ret, size_t *ret_len, struct vigil_report_stats *ret_stats)
{
	_cleanup_(vigil_report_release) struct report r = { 0 };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int err;

	if (!o->archive || o->from > o->to ||
	    (format != VIGIL_REPORT_HTML && format != VIGIL_REPORT_JSON))
		return -EINVAL;
	err = vigil_report_model(o, &r);
	if (err == 0 && format == VIGIL_REPORT_HTML)
		err = render_html(&r, &text, &len);
	else if (err == 0)
		err = vigil_report_json(&r, &text);
	if (err < 0)
		return err;
	if (!text)
		return -ENOMEM;
	if (format == VIGIL_REPORT_JSON)
		len = strlen(text);
	if (ret_stats)
		*ret_stats = (struct vigil_report_stats){
			.attestations = r.natts + r.dropped_atts,
			.violations = r.nviols + r.dropped_viols,
			.open_violations = r.open_viols,
			.monitoring = r.nmons + r.dropped_mons,
		};
	*ret_len = len;
	*ret = TAKE_PTR(text);
	return 0;
}
