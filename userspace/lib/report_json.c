// SPDX-License-Identifier: MIT
/*
 * report_json.c: the compliance report as an in-toto Statement v1 whose predicate
 * (VIGIL_REPORT_PREDICATE_TYPE) carries the same content as the HTML report; its schema is
 * docs/report.schema.json. The subjects name what the report vouches for by digest: the
 * archive head it was read up to, every archived EAR of the period and the SBOM, so in-toto
 * tooling can match them without reading the predicate.
 *
 * Invariants: every member the schema requires is written, absent values as JSON null, never
 * omitted; strings come from the model (valid UTF-8 without control characters) and json-c
 * escapes them; the output is vigil_json_format()'s (pretty, one final newline), unsigned:
 * the command signs it into DSSE.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"
#include "cleanup.h"
#include "report_internal.h"
#include "uapi/vigil.h"

#define INTOTO_STATEMENT "https://in-toto.io/Statement/v1"

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	return vigil_json_add(o, key, v);
}

static int add_null(struct json_object *o, const char *key)
{
	return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
	return s ? add(o, key, json_object_new_string(s)) : add_null(o, key);
}

static int add_u64(struct json_object *o, const char *key, uint64_t v)
{
	return add(o, key, json_object_new_uint64(v));
}

static int add_bool(struct json_object *o, const char *key, bool v)
{
	return add(o, key, json_object_new_boolean(v));
}

static int add_time(struct json_object *o, const char *key, int64_t t)
{
	char buf[32];

	vigil_report_time(t, buf, sizeof(buf));
	return add_str(o, key, buf);
}

static int add_hex(struct json_object *o, const char *key, const uint8_t *d, size_t len)
{
	char buf[REPORT_HEX_MAX];

	if (vigil_hex_encode(d, len, buf, sizeof(buf)) < 0)
		return -EINVAL;
	return add_str(o, key, buf);
}

/* Append @v (NULL: out of memory) to the array @arr. */
static int push(struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *subject(const char *name, const uint8_t sha256[32])
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *d = json_object_new_object();

	if (!o || add(o, "name", json_object_new_string(name)) < 0 || add(o, "digest", d) < 0 ||
	    add_hex(d, "sha256", sha256, 32) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *subjects(const struct report *r)
{
	_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();
	char name[64];

	if (!arr || push(arr, subject("vigil-archive-head", r->head)) < 0)
		return NULL;
	for (size_t i = 0; i < r->natts; i++) {
		if (!r->atts[i].ear.present)
			continue;
		snprintf(name, sizeof(name), "ear/%" PRIu64, r->atts[i].seq);
		if (push(arr, subject(name, r->atts[i].ear.sha256)) < 0)
			return NULL;
	}
	if (r->o->sbom) {
		const char *base = r->o->sbom_name ? strrchr(r->o->sbom_name, '/') : NULL;
		_cleanup_free_ char *sname = NULL;

		base = base ? base + 1 : r->o->sbom_name ? r->o->sbom_name : "sbom.json";
		if (asprintf(&sname, "sbom/%s", base) < 0)
			return NULL;
		if (push(arr, subject(sname, r->o->sbom_sha256)) < 0)
			return NULL;
	}
	return TAKE_PTR(arr);
}

/* ---- predicate members ---- */

static struct json_object *component(const struct vigil_sbom_component *c)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	if (!c)
		return NULL;
	o = json_object_new_object();
	if (!o || add_str(o, "name", c->name) < 0 || add_str(o, "version", c->version) < 0 ||
	    add_str(o, "purl", c->purl) < 0 || add_str(o, "bom_ref", c->bom_ref) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static int add_component(struct json_object *o, const struct vigil_sbom_component *c)
{
	return c ? add(o, "component", component(c)) : add_null(o, "component");
}

static struct json_object *ak_json(const struct report_ak *ak)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "keyid", ak->keyid) < 0 || add_str(o, "pem", ak->pem) < 0 ||
	    add_time(o, "first", ak->first) < 0 || add_time(o, "last", ak->last) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *device_json(const struct report_device *d)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *aks = json_object_new_array();

	if (!o || add(o, "aks", aks) < 0)
		return NULL;
	for (size_t k = 0; k < d->naks; k++)
		if (push(aks, ak_json(&d->aks[k])) < 0)
			return NULL;
	if (add_str(o, "name", d->name) < 0 || add_null(o, "ek") < 0 ||
	    add_u64(o, "attestations", d->trusted + d->untrusted) < 0 ||
	    add_u64(o, "trusted", d->trusted) < 0 || add_u64(o, "untrusted", d->untrusted) < 0 ||
	    add_time(o, "first", d->first) < 0 || add_time(o, "last", d->last) < 0 ||
	    add_u64(o, "max_gap_seconds", (uint64_t)d->max_gap) < 0 ||
	    add_u64(o, "aks_not_listed", d->aks_dropped) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *policy_json(const struct report_policy *p)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "name", p->name) < 0 ||
	    (p->name ? add_u64(o, "version", p->version) : add_null(o, "version")) < 0 ||
	    add_str(o, "signer_keyid", p->signer[0] ? p->signer : NULL) < 0 ||
	    add_str(o, "sha256", p->sha256) < 0 || add_time(o, "first_used", p->first) < 0 ||
	    add_time(o, "last_used", p->last) < 0 || add_u64(o, "uses", p->uses) < 0 ||
	    add_bool(o, "applied", p->applied) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *ear_json(const struct report_ear *e)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	if (!e->present)
		return NULL;
	o = json_object_new_object();
	if (!o || add_hex(o, "sha256", e->sha256, 32) < 0 || add_bool(o, "valid", e->valid) < 0 ||
	    add_str(o, "problem", e->valid ? NULL : e->problem) < 0 ||
	    add_str(o, "boot",
		    e->valid ? vigil_ear_tier_name(e->status[VIGIL_SUBMOD_BOOT]) : NULL) < 0 ||
	    add_str(o, "runtime",
		    e->valid ? vigil_ear_tier_name(e->status[VIGIL_SUBMOD_RUNTIME]) : NULL) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *quote_json(const struct report_attestation *a)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_u64(o, "clock", a->clock) < 0 ||
	    add_u64(o, "reset_count", a->reset_count) < 0 ||
	    add_u64(o, "restart_count", a->restart_count) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *att_policy_json(const struct report *r,
					   const struct report_attestation *a)
{
	const struct report_policy *p = &r->pols[a->policy];
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "sha256", p->sha256) < 0 || add_str(o, "name", p->name) < 0 ||
	    (p->name ? add_u64(o, "version", p->version) : add_null(o, "version")) < 0 ||
	    add_bool(o, "applied", a->policy_applied) < 0 ||
	    add_u64(o, "records_checked", a->records_checked) < 0 ||
	    add_u64(o, "records_excluded", a->records_excluded) < 0 ||
	    add_bool(o, "boot_appraised", a->boot_appraised) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static int add_opt_u64(struct json_object *o, const char *key, bool have, uint64_t v)
{
	return have ? add_u64(o, key, v) : add_null(o, key);
}

static struct json_object *attestation_json(const struct report *r,
					    const struct report_attestation *a)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_u64(o, "seq", a->seq) < 0 || add_str(o, "device", a->device) < 0 ||
	    add_time(o, "time", a->time) < 0 ||
	    add_str(o, "verdict", a->trusted ? "trusted" : "untrusted") < 0 ||
	    add_str(o, "reason", a->reason) < 0 ||
	    add_str(o, "failed_check", a->failed_check) < 0 ||
	    add_str(o, "detail", a->detail) < 0 ||
	    add_str(o, "ak_keyid", a->ak_keyid[0] ? a->ak_keyid : NULL) < 0 ||
	    (a->have_quote ? add(o, "quote", quote_json(a)) : add_null(o, "quote")) < 0 ||
	    add_opt_u64(o, "log_records", a->have_log, a->log_records) < 0 ||
	    add_opt_u64(o, "records_covered", a->have_covered, a->records_covered) < 0 ||
	    (a->policy != REPORT_NONE ? add(o, "policy", att_policy_json(r, a)) :
					add_null(o, "policy")) < 0 ||
	    (a->ear.present ? add(o, "ear", ear_json(&a->ear)) : add_null(o, "ear")) < 0 ||
	    (a->have_timestamp ? add_time(o, "timestamp", a->timestamp) :
				 add_null(o, "timestamp")) < 0 ||
	    add_hex(o, "entry_sha256", a->entry_sha256, 32) < 0 ||
	    add_u64(o, "violations", a->violations) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *expected_json(const struct report_violation *v)
{
	_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < v->nexpected; i++)
		if (push(arr, json_object_new_string(v->expected[i])) < 0)
			return NULL;
	return TAKE_PTR(arr);
}

static struct json_object *resolved_json(const struct report *r, const struct report_violation *v)
{
	const struct report_attestation *a = &r->atts[v->resolved_by];
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_u64(o, "seq", a->seq) < 0 || add_time(o, "time", a->time) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *violation_json(const struct report *r, const struct report_violation *v)
{
	const struct report_attestation *a = &r->atts[v->att];
	const char *status = vigil_report_violation_status(r, v);
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_u64(o, "seq", a->seq) < 0 || add_str(o, "device", a->device) < 0 ||
	    add_time(o, "time", a->time) < 0 ||
	    add_str(o, "kind", v->record ? "record" : "attestation") < 0 ||
	    add_opt_u64(o, "index", v->record, v->index) < 0 || add_str(o, "path", v->path) < 0 ||
	    add_str(o, "reason", v->reason) < 0 || add_str(o, "hook", v->hook) < 0 ||
	    add_bool(o, "warning", v->warning) < 0 || add_str(o, "alg", v->alg) < 0 ||
	    add_str(o, "digest", v->digest) < 0 || add(o, "expected", expected_json(v)) < 0 ||
	    add_u64(o, "expected_count", v->expected_count) < 0 ||
	    add_component(o, v->component) < 0 || add_str(o, "status", status) < 0 ||
	    (strcmp(status, "resolved") ? add_null(o, "resolved_by") :
					  add(o, "resolved_by", resolved_json(r, v))) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *monitoring_json(const struct report_monitoring *m)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_u64(o, "seq", m->seq) < 0 || add_str(o, "device", m->device) < 0 ||
	    add_time(o, "time", m->time) < 0 || add_str(o, "state", m->off ? "off" : "on") < 0 ||
	    add_str(o, "by", m->by) < 0 || add_str(o, "reason", m->reason) < 0 ||
	    add_bool(o, "before_period", m->before) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *file_json(const struct report_file *f)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "path", f->path) < 0 || add_str(o, "alg", f->alg) < 0 ||
	    add_str(o, "digest", f->digest) < 0 || add_component(o, f->component) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *requirement_json(const struct report_requirement *q)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *secs = json_object_new_array();

	if (!o || add(o, "sections", secs) < 0)
		return NULL;
	for (const char *s = q->sections; *s;) {
		size_t len = strcspn(s, " ");

		if (push(secs, json_object_new_string_len(s, (int)len)) < 0)
			return NULL;
		s += len + (s[len] == ' ');
	}
	if (add_str(o, "id", q->id) < 0 || add_str(o, "title", q->title) < 0 ||
	    add_str(o, "control", q->control) < 0 || add_str(o, "evidence", q->evidence) < 0 ||
	    add_str(o, "status", vigil_report_status_name(q->status)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *sbom_json(const struct report *r)
{
	const char *spec, *serial, *name, *version;
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *c = json_object_new_object();

	if (!o || add(o, "component", c) < 0)
		return NULL;
	vigil_sbom_info(r->o->sbom, &spec, &serial, &name, &version);
	if (add_str(o, "name", r->o->sbom_name ? r->o->sbom_name : "") < 0 ||
	    add_hex(o, "sha256", r->o->sbom_sha256, 32) < 0 ||
	    add_str(o, "spec_version", spec) < 0 ||
	    add_str(o, "serial_number", serial[0] ? serial : NULL) < 0 ||
	    add_str(c, "name", name) < 0 || add_str(c, "version", version) < 0 ||
	    add_u64(o, "files_matched", r->files_matched) < 0 ||
	    add_u64(o, "files_not_in_sbom", r->files_sha256 - r->files_matched) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* ---- the statement ---- */

/* @n elements of @size bytes from @base through @fn, as an array member @key of @o */
static int add_array(struct json_object *o, const char *key, const struct report *r, size_t size,
		     const void *base, size_t n,
		     struct json_object *(*fn)(const struct report *, const void *))
{
	struct json_object *arr = json_object_new_array();

	if (add(o, key, arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (push(arr, fn(r, (const char *)base + i * size)) < 0)
			return -ENOMEM;
	return 0;
}

static struct json_object *dev_fn(const struct report *r, const void *p)
{
	(void)r;
	return device_json(p);
}

static struct json_object *pol_fn(const struct report *r, const void *p)
{
	(void)r;
	return policy_json(p);
}

static struct json_object *att_fn(const struct report *r, const void *p)
{
	return attestation_json(r, p);
}

static struct json_object *viol_fn(const struct report *r, const void *p)
{
	return violation_json(r, p);
}

static struct json_object *mon_fn(const struct report *r, const void *p)
{
	(void)r;
	return monitoring_json(p);
}

static struct json_object *file_fn(const struct report *r, const void *p)
{
	(void)r;
	return file_json(p);
}

static struct json_object *req_fn(const struct report *r, const void *p)
{
	(void)r;
	return requirement_json(p);
}

static struct json_object *period_json(const struct report *r)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "from", r->from[0] ? r->from : NULL) < 0 ||
	    add_str(o, "to", r->to[0] ? r->to : NULL) < 0 || add_time(o, "first", r->first) < 0 ||
	    add_time(o, "last", r->last) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *archive_json(const struct report *r)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *cmd = NULL;

	if (!o || asprintf(&cmd, "vigil archive verify %s", r->o->archive) < 0)
		return NULL;
	if (add_u64(o, "head_seq", r->head_seq) < 0 || add_hex(o, "head_sha256", r->head, 32) < 0 ||
	    add_u64(o, "entries", r->entries) < 0 || add_str(o, "reverify", cmd) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *summary_json(const struct report *r)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *t = json_object_new_object();
	size_t trusted = 0;

	for (size_t i = 0; i < r->natts; i++)
		trusted += r->atts[i].trusted;
	if (!o || add(o, "not_listed", t) < 0 ||
	    add_u64(o, "attestations", r->natts + r->dropped_atts) < 0 ||
	    add_u64(o, "trusted", trusted) < 0 || add_u64(o, "untrusted", r->natts - trusted) < 0 ||
	    add_u64(o, "violations", r->nviols + r->dropped_viols) < 0 ||
	    add_u64(o, "open_violations", r->open_viols) < 0 ||
	    add_u64(o, "monitoring_changes", r->nmons + r->dropped_mons) < 0 ||
	    add_u64(o, "measured_files", r->nfiles + r->dropped_files) < 0 ||
	    add_u64(t, "attestations", r->dropped_atts) < 0 ||
	    add_u64(t, "violations", r->dropped_viols) < 0 ||
	    add_u64(t, "monitoring", r->dropped_mons) < 0 ||
	    add_u64(t, "measured_files", r->dropped_files) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static int add_lists(struct json_object *p, const struct report *r)
{
	if (add_array(p, "devices", r, sizeof(*r->devs), r->devs, r->ndevs, dev_fn) < 0 ||
	    add_array(p, "policies", r, sizeof(*r->pols), r->pols, r->npols, pol_fn) < 0 ||
	    add_array(p, "attestations", r, sizeof(*r->atts), r->atts, r->natts, att_fn) < 0 ||
	    add_array(p, "violations", r, sizeof(*r->viols), r->viols, r->nviols, viol_fn) < 0 ||
	    add_array(p, "monitoring", r, sizeof(*r->mons), r->mons, r->nmons, mon_fn) < 0 ||
	    add_array(p, "measured_files", r, sizeof(*r->files), r->files, r->nfiles, file_fn) <
		    0 ||
	    add_array(p, "requirements", r, sizeof(*r->reqs), r->reqs, r->nreqs, req_fn) < 0)
		return -ENOMEM;
	return 0;
}

static struct json_object *predicate(const struct report *r)
{
	_cleanup_(json_object_putp) struct json_object *p = json_object_new_object();

	if (!p || add_str(p, "report_type", VIGIL_REPORT_PREDICATE_TYPE) < 0 ||
	    add_str(p, "report_id", r->id) < 0 || add_str(p, "generated_at", r->generated) < 0 ||
	    add_str(p, "generator", "vigil " VIGIL_VERSION) < 0 ||
	    add_str(p, "result", r->result) < 0 || add(p, "period", period_json(r)) < 0 ||
	    add(p, "archive", archive_json(r)) < 0 || add(p, "summary", summary_json(r)) < 0 ||
	    add_lists(p, r) < 0 ||
	    (r->o->sbom ? add(p, "sbom", sbom_json(r)) : add_null(p, "sbom")) < 0 ||
	    add_bool(p, "monitoring_used", r->monitoring_used) < 0)
		return NULL;
	return TAKE_PTR(p);
}

/**
 * vigil_report_json() - write the report as an in-toto Statement v1 (unsigned)
 * @r: the model
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_report_json(const struct report *r, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || add_str(o, "_type", INTOTO_STATEMENT) < 0 || add(o, "subject", subjects(r)) < 0 ||
	    add_str(o, "predicateType", VIGIL_REPORT_PREDICATE_TYPE) < 0 ||
	    add(o, "predicate", predicate(r)) < 0)
		return -ENOMEM;
	return vigil_json_format(o, ret);
}
