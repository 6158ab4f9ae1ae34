// SPDX-License-Identifier: MIT
/*
 * verifierd_attest.c: one attestation of one device, from its evidence to the recorded
 * verdict: the device's signed policy (cached, re-read from the store at most every few
 * seconds), vigil_attest_continue() from its cursor, the new state, an alert when the state
 * changes (or fails anew), and one vigil_store_record() that writes all of it or nothing.
 * Also the verifier's half of enrollment (EK certificate, MakeCredential, the answer).
 *
 * Invariants: a device struct passed in is the one read under this process's lease; it is
 * updated in place only after the store accepted the record (seq, state, cursor). A stale lease
 * (-ESTALE) drops the outcome: another verifierd owns the device now. The cursor moves only
 * with an accepted verdict (vigil_attest_continue()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "cleanup.h"
#include "compliance.h"
#include "verifierd.h"

#define POLICY_RECHECK_MS 5000

/**
 * vd_now_ms() - the wall clock in milliseconds since the epoch (the store's time base)
 *
 * Return: the time.
 */
int64_t vd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * vd_mono_ms() - a monotonic clock in milliseconds, for durations
 *
 * Return: the time.
 */
int64_t vd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * vd_latency() - count one attestation's latency
 * @vd: the daemon
 * @since: vd_mono_ms() when its nonce was issued or its quote request sent
 */
void vd_latency(struct vd *vd, int64_t since)
{
	int64_t ms = vd_mono_ms() - since;

	if (ms < 0)
		ms = 0;
	vd->stats.latency[ms < VD_LATENCY_MAX_MS ? ms : VD_LATENCY_MAX_MS]++;
	vd->stats.count++;
	if (ms > vd->stats.max)
		vd->stats.max = ms;
}

static int64_t percentile(const struct vd_stats *st, uint64_t permille)
{
	uint64_t want = (st->count * permille + 999) / 1000, seen = 0;

	for (int64_t ms = 0; ms <= VD_LATENCY_MAX_MS; ms++) {
		seen += st->latency[ms];
		if (seen >= want && seen)
			return ms;
	}
	return 0;
}

/**
 * vd_stats_format() - the statistics as GET /v1/stats answers them (docs/fleet-protocol.md)
 * @vd: the daemon
 * @ret: the JSON text; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vd_stats_format(const struct vd *vd, char **ret)
{
	const struct vd_stats *st = &vd->stats;

	if (asprintf(ret,
		     "{\"attestations\": %llu, \"trusted\": %llu, \"untrusted\": %llu, "
		     "\"missed\": %llu, \"inflight\": %u, \"latency_ms\": {\"count\": %llu, "
		     "\"p50\": %lld, \"p99\": %lld, \"max\": %lld}}\n",
		     (unsigned long long)st->attestations, (unsigned long long)st->trusted,
		     (unsigned long long)st->untrusted, (unsigned long long)st->missed,
		     vd->inflight, (unsigned long long)st->count, (long long)percentile(st, 500),
		     (long long)percentile(st, 990), (long long)st->max) < 0)
		return -ENOMEM;
	return 0;
}

/**
 * vd_log() - one line to standard error (the service manager's journal)
 * @vd: the daemon
 * @prio: syslog priority; LOG_DEBUG lines are dropped
 * @fmt: printf format
 */
void vd_log(struct vd *vd, int prio, const char *fmt, ...)
{
	va_list ap;

	(void)vd;
	if (prio >= LOG_DEBUG)
		return;
	va_start(ap, fmt);
	fputs("vigil verifierd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- policies ---- */

static struct vd_policy *policy_slot(struct vd *vd, const char *name)
{
	struct vd_policy *p;

	for (size_t i = 0; i < vd->npolicies; i++)
		if (!strcmp(vd->policies[i].name, name))
			return &vd->policies[i];
	p = reallocarray(vd->policies, vd->npolicies + 1, sizeof(*p));
	if (!p)
		return NULL;
	vd->policies = p;
	p = &p[vd->npolicies++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/**
 * vd_policy_forget() - drop a cached policy (the operator stored a new version)
 * @vd: the daemon
 * @name: the policy's name
 */
void vd_policy_forget(struct vd *vd, const char *name)
{
	for (size_t i = 0; i < vd->npolicies; i++)
		if (!strcmp(vd->policies[i].name, name))
			vd->policies[i].checked_ms = 0;
}

/* Load @name's envelope into @p when it differs from what @p holds; a verdict > 0 if unusable. */
static int policy_load(struct vd *vd, struct vd_policy *p, uint64_t version, const uint8_t *env,
		       size_t len)
{
	struct vigil_policy_error err;
	struct vigil_policy *pol = NULL;
	uint8_t hash[32];
	size_t key = 0;
	int r;

	r = vigil_hash_digest(TPM2_ALG_SHA256, env, len, hash, sizeof(hash));
	if (r < 0)
		return r;
	if (p->policy && !CRYPTO_memcmp(hash, p->envelope_hash, sizeof(hash)))
		return 0;
	r = vigil_policy_load_signed((const char *)env, len, vd->trust, vd->o.ntrust,
				     vd_now_ms() / 1000, &pol, &key, &err);
	if (r != 0)
		return r;
	r = vigil_sigkey_id(vd->trust[key], p->keyid);
	if (r < 0) {
		vigil_policy_free(pol);
		return r;
	}
	vigil_policy_free(p->policy);
	p->policy = pol;
	p->version = version;
	memcpy(p->envelope_hash, hash, sizeof(hash));
	return 0;
}

/* The device's policy, or why it cannot be used (*@reject, *@detail). */
static int policy_get(struct vd *vd, const char *name, struct vd_policy **ret,
		      enum vigil_reject *reject, const char **detail)
{
	_cleanup_free_ uint8_t *env = NULL;
	struct vd_policy *p = policy_slot(vd, name);
	int64_t now = vd_now_ms();
	uint64_t version = 0;
	size_t len = 0;
	int r;

	if (!p)
		return -ENOMEM;
	if (p->policy && now - p->checked_ms < POLICY_RECHECK_MS) {
		*ret = p;
		return 0;
	}
	r = vigil_store_policy_get(vd->db, name, &version, &env, &len);
	if (r == -ENOENT) {
		*reject = VIGIL_REJECT_POLICY_BAD_ENVELOPE;
		*detail = "no policy of this name in the fleet database (vigil fleet policy)";
		return 0;
	}
	if (r == 0)
		r = policy_load(vd, p, version, env, len);
	if (r > 0) {
		*reject = vigil_policy_reject_of(r, detail);
		return 0;
	}
	if (r < 0)
		return r;
	p->checked_ms = now;
	*ret = p;
	return 0;
}

/* ---- AKs, prepared once per device ---- */

/* A device's AK as vigil_quote_verify() wants it; replaced when the stored public area changes. */
struct vd_ak {
	struct vigil_hnode node;
	char id[VIGIL_DEVICE_ID_MAX + 1];
	uint8_t ak_public[sizeof(TPM2B_PUBLIC)];
	size_t ak_public_len;
	struct vigil_ak_key *key;
	int64_t used_ms;
};

static void ak_free(struct vd_ak *a)
{
	vigil_ak_key_free(a->key);
	free(a);
}

/* The device's prepared AK: cached, or made from its stored public area (and cached). */
static int ak_get(struct vd *vd, const struct vigil_device *d, const struct vigil_ak_key **ret)
{
	uint64_t hash = vigil_hmap_hash(&vd->aks, d->id, strlen(d->id));
	struct vd_ak *a = NULL;
	TPM2B_PUBLIC pub;
	int r;

	for (struct vigil_hnode *e = vigil_hmap_first(&vd->aks, hash); e; e = vigil_hmap_next(e))
		if (!strcmp(vigil_hnode_entry(e, struct vd_ak, node)->id, d->id)) {
			a = vigil_hnode_entry(e, struct vd_ak, node);
			break;
		}
	if (a && a->ak_public_len == d->ak_public_len &&
	    !memcmp(a->ak_public, d->ak_public, d->ak_public_len)) {
		a->used_ms = vd_now_ms();
		*ret = a->key;
		return 0;
	}
	if (a) { /* enrolled again, with another AK */
		vigil_hmap_del(&vd->aks, &a->node);
		ak_free(a);
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = vigil_ak_public_parse(d->ak_public, d->ak_public_len, &pub);
	if (r == 0)
		r = vigil_ak_key_new(&pub, &a->key);
	if (r == 0)
		r = vigil_hmap_add(&vd->aks, &a->node, hash);
	if (r < 0) {
		ak_free(a);
		return r;
	}
	snprintf(a->id, sizeof(a->id), "%s", d->id);
	memcpy(a->ak_public, d->ak_public, d->ak_public_len);
	a->ak_public_len = d->ak_public_len;
	a->used_ms = vd_now_ms();
	*ret = a->key;
	return 0;
}

static bool ak_unused(struct vigil_hnode *n, void *ctx)
{
	struct vd_ak *a = vigil_hnode_entry(n, struct vd_ak, node);

	if (ctx && a->used_ms >= *(const int64_t *)ctx)
		return false;
	ak_free(a);
	return true;
}

/**
 * vd_aks_prune() - forget the prepared AKs of devices not attested for a while
 * @vd: the daemon
 * @unused_since_ms: drop those last used before this time (vd_now_ms()); INT64_MAX: all
 *
 * Devices removed or attested by another verifierd leave the table this way.
 */
void vd_aks_prune(struct vd *vd, int64_t unused_since_ms)
{
	vigil_hmap_prune(&vd->aks, ak_unused, &unused_since_ms);
	if (!vd->aks.count)
		vigil_hmap_free(&vd->aks);
}

/* ---- devices that must send their log from record 0 ---- */

static bool from0_has(const struct vd *vd, const char *id, size_t *ret_index)
{
	for (size_t i = 0; i < vd->nfrom0; i++)
		if (!strcmp(vd->from0[i], id)) {
			if (ret_index)
				*ret_index = i;
			return true;
		}
	return false;
}

static void from0_set(struct vd *vd, const char *id, bool on)
{
	size_t i;

	if (from0_has(vd, id, &i)) {
		if (!on)
			memcpy(vd->from0[i], vd->from0[--vd->nfrom0], sizeof(vd->from0[i]));
		return;
	}
	if (on) {
		void *n = reallocarray(vd->from0, vd->nfrom0 + 1, sizeof(*vd->from0));

		if (!n)
			return; /* the agent is asked for its cursor again, rejected again */
		vd->from0 = n;
		snprintf(vd->from0[vd->nfrom0++], sizeof(*vd->from0), "%s", id);
	}
}

/**
 * vd_from() - the record a device's next log must start at
 * @vd: the daemon
 * @d: the device as stored
 *
 * The cursor, unless it is not valid, a continued log showed a reboot, or the device's policy
 * has a version newer than the one its cursor was verified with (the whole boot's log is then
 * appraised again).
 *
 * Return: the record index.
 */
uint64_t vd_from(struct vd *vd, const struct vigil_device *d)
{
	enum vigil_reject reject = VIGIL_REJECT_NONE;
	struct vd_policy *p = NULL;
	const char *detail = NULL;

	if (!d->cursor.valid || from0_has(vd, d->id, NULL))
		return 0;
	if (d->policy[0] && policy_get(vd, d->policy, &p, &reject, &detail) == 0 && p &&
	    p->version > d->policy_version)
		return 0;
	return d->cursor.next;
}

/**
 * struct outcome_in - one outcome to record
 * @st: the device's new state
 * @reason: its reason name
 * @detail: a text elaboration, or NULL
 * @from: the first record the attestation looked at
 * @to: the cursor after it
 * @verdict: the verdict JSON, or NULL (missed); record() takes it
 * @v: the verdict, for the alert's failures, or NULL
 * @cursor: the new cursor, or NULL to keep it
 * @policy_version: the policy version accepted, 0 for none
 */
struct outcome_in {
	enum vigil_device_state st;
	const char *reason;
	const char *detail;
	uint64_t from;
	uint64_t to;
	char *verdict;
	const struct vigil_verdict *v;
	const struct vigil_cursor *cursor;
	uint64_t policy_version;
};

/* ---- alerts ---- */

static const char *alert_kind(const struct vigil_device *d, enum vigil_device_state st,
			      const char *reason)
{
	bool failing = d->state == VIGIL_DEVICE_UNTRUSTED || d->state == VIGIL_DEVICE_MISSED;

	if (st == VIGIL_DEVICE_TRUSTED)
		return failing ? "recovery" : NULL;
	if (d->state == st && !strcmp(d->last_reason, reason))
		return NULL; /* the same failure again: alerted once */
	return st == VIGIL_DEVICE_MISSED ? "missed" : "failure";
}

static int alert_failures(const struct vigil_verdict *v, struct json_object *o)
{
	struct json_object *arr = json_object_new_array();
	int r = arr ? vigil_json_add(o, "failures", arr) : -ENOMEM;

	for (size_t i = 0; r == 0 && v && i < v->failure_count && i < VD_ALERT_FAILURES_MAX; i++) {
		struct json_object *f = json_object_new_object();

		r = f ? json_object_array_add(arr, f) : -ENOMEM;
		if (r == 0)
			r = vigil_json_add(f, "index",
					   json_object_new_int64((int64_t)v->failures[i].index));
		if (r == 0)
			r = vigil_json_add(f, "path", vigil_json_text(v->failures[i].path));
		if (r == 0)
			r = vigil_json_add(f, "reason",
					   json_object_new_string(vigil_record_reason_name(
						   v->failures[i].reason)));
	}
	return r;
}

/* The alert's payload (docs/fleet-protocol.md "Alerts"), signed when there is a key. */
static int alert_make(struct vd *vd, const struct vigil_device *d, const char *kind,
		      const struct outcome_in *in, int64_t now, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *text = NULL;
	char when[32];
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	int r;

	if (!o)
		return -ENOMEM;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	r = vigil_json_add(o, "vigil_alert", json_object_new_int(1));
	if (r == 0)
		r = vigil_json_add(o, "kind", json_object_new_string(kind));
	if (r == 0)
		r = vigil_json_add(o, "device", json_object_new_string(d->id));
	if (r == 0)
		r = vigil_json_add(o, "seq", json_object_new_int64((int64_t)d->seq + 1));
	if (r == 0)
		r = vigil_json_add(o, "time", json_object_new_string(when));
	if (r == 0)
		r = vigil_json_add(o, "state",
				   json_object_new_string(vigil_device_state_name(in->st)));
	if (r == 0)
		r = vigil_json_add(o, "previous_state",
				   json_object_new_string(vigil_device_state_name(d->state)));
	if (r == 0)
		r = vigil_json_add(o, "reason", json_object_new_string(in->reason));
	if (r == 0 && in->detail)
		r = vigil_json_add(o, "detail", vigil_json_text(in->detail));
	if (r == 0)
		r = alert_failures(in->v, o);
	if (r == 0)
		r = vigil_json_add(o, "verifier", json_object_new_string(vd->o.owner));
	if (r == 0)
		r = vigil_json_format(o, &text);
	if (r < 0 || !text)
		return r < 0 ? r : -ENOMEM;
	if (!vd->alert_key) {
		*ret = TAKE_PTR(text);
		return 0;
	}
	return vigil_jws_sign("vigil-alert+jwt", (const uint8_t *)text, strlen(text), vd->alert_key,
			      ret);
}

/* ---- recording ---- */

static uint32_t next_ms(const struct vd *vd, const struct vigil_device *d)
{
	return d->interval_ms + (d->mode == VIGIL_MODE_PUSH ? vd->o.grace_ms : 0);
}

/* What a written (r == 0) or refused outcome leads to: counters, alerts, log lines. */
static void recorded(struct vd *vd, const struct vd_rec *rec, int r)
{
	const struct vigil_device *n = &rec->n;

	if (r == -ESTALE) {
		vd_log(vd, LOG_NOTICE, "%s: lease lost; attestation %llu dropped", n->id,
		       (unsigned long long)rec->a.seq);
		return;
	}
	if (r < 0) {
		vd_log(vd, LOG_ERR, "%s: cannot record attestation %llu: %s", n->id,
		       (unsigned long long)rec->a.seq,
		       r == -EIO ? vigil_store_error(vd->db) : strerror(-r));
		return;
	}
	vd->stats.attestations++;
	vd->stats.trusted += n->state == VIGIL_DEVICE_TRUSTED;
	vd->stats.untrusted += n->state == VIGIL_DEVICE_UNTRUSTED;
	vd->stats.missed += n->state == VIGIL_DEVICE_MISSED;
	if (rec->since >= 0)
		vd_latency(vd, rec->since);
	if (rec->alert)
		vd_alerts_wake(vd);
	if (rec->announce)
		vd_log(vd, n->state == VIGIL_DEVICE_TRUSTED ? LOG_NOTICE : LOG_WARNING,
		       "%s: %s (%s)", n->id, vigil_device_state_name(n->state), n->last_reason);
}

static void rec_release(struct vd_rec *rec)
{
	free(rec->a.verdict);
	free(rec->alert);
	rec->a.verdict = rec->alert = NULL;
}

/**
 * vd_flush() - write the outcomes queued in this loop pass, with one commit
 * @vd: the daemon
 */
void vd_flush(struct vd *vd)
{
	struct vigil_store_rec recs[VD_BATCH_MAX];
	int ret[VD_BATCH_MAX];
	size_t n = vd->nbatch;
	int r;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		recs[i] = (struct vigil_store_rec){ &vd->batch[i].n, &vd->batch[i].a,
						    vd->batch[i].alert };
	r = vigil_store_record_many(vd->db, vd->o.owner, recs, n, ret);
	for (size_t i = 0; i < n; i++) {
		recorded(vd, &vd->batch[i], r < 0 ? r : ret[i]);
		rec_release(&vd->batch[i]);
	}
	vd->nbatch = 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vd_flush(arg);
}

/**
 * vd_batch_start() - set up the batch write of outcomes
 * @vd: the daemon, its event base made with 3 priorities (everything else runs at 1)
 *
 * The flush event runs at priority 2: libevent runs it only in a loop pass that has no
 * other event to run, so every verification whose reply arrived together shares one commit
 * (group commit); a busy loop still writes within VD_BATCH_MS (checked as outcomes queue, and
 * by the schedule's tick).
 *
 * Return: 0, or -ENOMEM.
 */
int vd_batch_start(struct vd *vd)
{
	vd->batch = calloc(VD_BATCH_MAX, sizeof(*vd->batch));
	vd->flush = event_new(vd->base, -1, 0, on_flush, vd);
	if (!vd->batch || !vd->flush || event_priority_set(vd->flush, 2) < 0)
		return -ENOMEM;
	return 0;
}

/**
 * vd_batch_stop() - write what is queued and free the batch
 * @vd: the daemon
 */
void vd_batch_stop(struct vd *vd)
{
	if (vd->batch && vd->db)
		vd_flush(vd);
	if (vd->flush)
		event_free(vd->flush);
	free(vd->batch);
	vd->flush = NULL;
	vd->batch = NULL;
}

/* Queue an outcome for the batch write; write the batch first when it is full or old. */
static void enqueue(struct vd *vd, struct vd_rec *rec)
{
	int64_t now = vd_mono_ms();

	if (vd->nbatch == VD_BATCH_MAX || (vd->nbatch && now - vd->batch_start >= VD_BATCH_MS))
		vd_flush(vd);
	if (!vd->nbatch) {
		vd->batch_start = now;
		event_active(vd->flush, EV_TIMEOUT, 0);
	}
	vd->batch[vd->nbatch++] = *rec;
}

/* Takes in->verdict. Outcomes of pull devices are batched (@since != VD_NOW); a push
 * device's agent waits for its verdict, which is written now (after what is queued). */
static int record(struct vd *vd, struct vigil_device *d, const struct outcome_in *in, int64_t since,
		  struct vd_outcome *ret)
{
	int64_t now = vd_now_ms();
	const char *kind = alert_kind(d, in->st, in->reason);
	struct vd_rec rec = { .n = *d,
			      .a = { .seq = d->seq + 1,
				     .time_ms = now,
				     .state = in->st,
				     .from = in->from,
				     .to = in->to,
				     .verdict = in->verdict },
			      .since = since == VD_NOW ? -1 : since,
			      .announce = kind != NULL };
	struct vigil_device *n = &rec.n;
	int r = kind ? alert_make(vd, d, kind, in, now, &rec.alert) : 0;

	if (r < 0) {
		rec_release(&rec);
		return r;
	}
	snprintf(rec.a.device, sizeof(rec.a.device), "%s", d->id);
	snprintf(rec.a.reason, sizeof(rec.a.reason), "%s", in->reason);
	n->state = in->st;
	snprintf(n->last_reason, sizeof(n->last_reason), "%s", in->reason);
	n->failures = in->st == VIGIL_DEVICE_TRUSTED ? 0 : d->failures + 1;
	n->last_ms = now;
	n->due_ms = now + next_ms(vd, d);
	if (in->cursor)
		n->cursor = *in->cursor;
	if (in->policy_version > n->policy_version)
		n->policy_version = in->policy_version;
	*ret = (struct vd_outcome){ .state = n->state,
				    .next_ms = d->interval_ms,
				    .recorded = true };
	snprintf(ret->reason, sizeof(ret->reason), "%s", in->reason);
	if (since != VD_NOW && vd->batch) {
		enqueue(vd, &rec);
		return 0;
	}
	vd_flush(vd); /* what was verified before is written before */
	r = vigil_store_record(vd->db, vd->o.owner, n, &rec.a, rec.alert);
	recorded(vd, &rec, r);
	rec_release(&rec);
	if (r == -ESTALE) {
		*ret = (struct vd_outcome){ .state = d->state, .next_ms = d->interval_ms };
		snprintf(ret->reason, sizeof(ret->reason), "%s", in->reason);
		return 0;
	}
	if (r < 0)
		return r;
	n->seq++;
	*d = *n;
	return 0;
}

/**
 * vd_missed() - record that a device's attestation did not come
 * @vd: the daemon
 * @d: the device, as read under this process's lease; updated when written now
 * @why: what happened (a connection error, no evidence within the interval)
 * @batch_since: VD_NOW, or VD_NO_LATENCY to queue it for the batch write (vd_flush())
 * @ret: the outcome
 *
 * Return: 0, or a negative errno when the store failed.
 */
int vd_missed(struct vd *vd, struct vigil_device *d, const char *why, int64_t batch_since,
	      struct vd_outcome *ret)
{
	const struct outcome_in in = { .st = VIGIL_DEVICE_MISSED,
				       .reason = "missed",
				       .detail = why,
				       .from = d->cursor.next,
				       .to = d->cursor.next };

	return record(vd, d, &in, batch_since, ret);
}

/* ---- verification ---- */

/* The verification's inputs from the device's enrollment and policy. */
struct attest_ctx {
	struct vigil_attest_input in;
	struct vigil_evidence *ev;
};

static void attest_ctx_done(struct attest_ctx *c)
{
	vigil_evidence_free(c->ev);
}

static int attest_inputs(struct vd *vd, const struct vigil_device *d, struct attest_ctx *c)
{
	struct vigil_attest_input *in = &c->in;
	struct vd_policy *p = NULL;
	int r;

	r = ak_get(vd, d, &in->quote.key);
	if (r == 0 && d->policy[0])
		r = policy_get(vd, d->policy, &p, &in->policy_reject, &in->policy_detail);
	if (r < 0)
		return r;
	if (p && p->version < d->policy_version) {
		in->policy_reject = VIGIL_REJECT_POLICY_ROLLBACK;
		in->policy_detail = "older than a version this device was verified with";
	} else if (p) {
		in->policy = p->policy;
		in->policy_keyid = p->keyid;
	}
	in->quote.selection = &vd->o.selection;
	in->log_bank = vd->o.log_bank;
	in->log_pcr = vd->o.log_pcr;
	return 0;
}

/* The evidence document could not be read: a rejection, like any malformed evidence. */
static void bad_evidence(struct vigil_verdict *v, int r)
{
	vigil_verdict_init(v);
	vigil_verdict_fail(v, VIGIL_CHECK_FORMAT, VIGIL_REJECT_BAD_FORMAT,
			   r == -EFBIG ? "evidence document too large" :
					 "evidence document: not valid evidence JSON");
	vigil_verdict_finish(v);
}

static int verify(const struct vigil_device *d, struct attest_ctx *c, const uint8_t *nonce,
		  size_t nonce_len, const uint8_t *evidence, size_t len, struct vigil_verdict *v,
		  struct vigil_cursor *next)
{
	int r = vigil_evidence_parse((const char *)evidence, len, &c->ev);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		bad_evidence(v, r);
		return 0;
	}
	c->in.quote.attest = c->ev->attest;
	c->in.quote.attest_len = c->ev->attest_len;
	c->in.quote.sig = c->ev->sig;
	c->in.quote.sig_len = c->ev->sig_len;
	c->in.quote.nonce = nonce;
	c->in.quote.nonce_len = nonce_len;
	c->in.quote.pcrs = &c->ev->pcrs;
	c->in.log = c->ev->log;
	c->in.log_len = c->ev->log_len;
	c->in.log_from = c->ev->log_from;
	return vigil_attest_continue(&c->in, &d->cursor, v, next);
}

/**
 * vd_attest() - verify a device's evidence and record the outcome
 * @vd: the daemon
 * @d: the device, as read under this process's lease; updated when written now
 * @batch_since: VD_NOW to write the outcome before returning; else it is queued for the
 *	batch write (vd_flush()), which counts its latency from this vd_mono_ms() time
 *	(VD_NO_LATENCY: none)
 * @nonce: the nonce it was given
 * @nonce_len: its length
 * @evidence: the evidence document it sent
 * @len: its length
 * @ret: the outcome; reason "log_cursor" (nothing recorded) asks for the log from record 0
 *
 * Return: 0, or a negative errno when the verification or the store could not run.
 */
int vd_attest(struct vd *vd, struct vigil_device *d, int64_t batch_since, const uint8_t *nonce,
	      size_t nonce_len, const uint8_t *evidence, size_t len, struct vd_outcome *ret)
{
	_cleanup_(attest_ctx_done) struct attest_ctx c = { 0 };
	_cleanup_free_ char *json = NULL;
	struct vigil_cursor next = d->cursor;
	struct vigil_verdict v;
	struct outcome_in in;
	int r;

	r = attest_inputs(vd, d, &c);
	if (r < 0)
		return r;
	r = verify(d, &c, nonce, nonce_len, evidence, len, &v, &next);
	if (r == 0 && !v.accepted && v.reason == VIGIL_REJECT_LOG_CURSOR) {
		from0_set(vd, d->id, true);
		*ret = (struct vd_outcome){ .state = d->state };
		snprintf(ret->reason, sizeof(ret->reason), "log_cursor");
		vigil_verdict_release(&v);
		return 0;
	}
	if (r == 0)
		r = vigil_verdict_to_json_compact(&v, &json);
	if (r < 0) {
		vigil_verdict_release(&v);
		return r;
	}
	from0_set(vd, d->id, false);
	in = (struct outcome_in){
		.st = v.accepted ? VIGIL_DEVICE_TRUSTED : VIGIL_DEVICE_UNTRUSTED,
		.reason = vigil_reject_name(v.reason),
		.detail = v.detail,
		.from = c.ev ? c.ev->log_from : 0,
		.to = v.accepted ? next.next : d->cursor.next,
		.verdict = TAKE_PTR(json),
		.v = &v,
		.cursor = v.accepted ? &next : NULL,
		.policy_version = v.accepted && v.policy_applied ? v.policy_version : 0,
	};
	r = record(vd, d, &in, batch_since, ret);
	vigil_verdict_release(&v);
	return r;
}

/* ---- enrollment ---- */

static int marshal_public(const TPM2B_PUBLIC *pub, uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, size, &off) != TSS2_RC_SUCCESS)
		return -EINVAL;
	*ret_len = off;
	return 0;
}

static const char *ek_error(int verdict)
{
	switch (verdict) {
	case VIGIL_EK_CERT_UNTRUSTED:
		return "ek_untrusted";
	case VIGIL_EK_CERT_KEY_MISMATCH:
		return "ek_key_mismatch";
	case VIGIL_EK_PUBLIC_BAD:
		return "ek_bad";
	default:
		return "bad_request";
	}
}

/* The device may enroll with this identity: registered, EK certified, bound to nobody else. */
static int enroll_check(struct vd *vd, const char *id, const struct vigil_msg_identity *m,
			struct vigil_ek_identity *ek, const char **ret_error, char *detail,
			size_t size)
{
	struct vigil_device d;
	int r;

	r = vigil_store_device_get(vd->db, id, &d);
	if (r == -ENOENT) {
		*ret_error = "not_registered";
		return 0;
	}
	if (r < 0)
		return r;
	r = vigil_ek_cert_check(m->ek_cert, m->ek_cert_len, &m->ek, vd->o.ek_ca, 0, ek);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_error = ek_error(r);
		snprintf(detail, size, "%s%s%s", vigil_ek_verdict_name(r),
			 ek->detail[0] ? ": " : "", ek->detail);
		return 0;
	}
	if (d.enrolled && CRYPTO_memcmp(d.ek_hash, ek->ek_hash, sizeof(d.ek_hash))) {
		*ret_error = "ek_mismatch";
		snprintf(detail, size, "the device is bound to another TPM");
		return 0;
	}
	if (vigil_ak_public_check(&m->ak.publicArea) < 0) {
		*ret_error = "ak_bad";
		snprintf(detail, size, "the AK is not a restricted signing key with one scheme");
	}
	return 0;
}

/**
 * vd_enroll_begin() - check a device's TPM identity and challenge it (MakeCredential)
 * @vd: the daemon
 * @id: the device (its certificate's CN, or the pull device verifierd connected to)
 * @m: its identity
 * @ret: the challenge to send it
 * @ret_error: on refusal, the error code for the reply (docs/fleet-protocol.md), else NULL
 * @detail: a text for the refusal
 * @size: its size
 *
 * Return: 0 (see *@ret_error), or a negative errno.
 */
int vd_enroll_begin(struct vd *vd, const char *id, const struct vigil_msg_identity *m,
		    struct vigil_msg_challenge *ret, const char **ret_error, char *detail,
		    size_t size)
{
	uint8_t secret[VIGIL_CREDENTIAL_SECRET_SIZE], hash[32], ak[sizeof(TPM2B_PUBLIC)];
	struct vigil_ek_identity ek;
	TPM2B_NAME name;
	size_t aklen = 0;
	int r;

	*ret_error = NULL;
	detail[0] = 0;
	r = enroll_check(vd, id, m, &ek, ret_error, detail, size);
	if (r < 0 || *ret_error)
		return r;
	r = vigil_ak_name(&m->ak.publicArea, &name);
	if (r == 0)
		r = marshal_public(&m->ak, ak, sizeof(ak), &aklen);
	if (r == 0 && RAND_bytes(secret, sizeof(secret)) != 1)
		r = -EIO;
	if (r == 0)
		r = vigil_make_credential(&m->ek, &name, secret, sizeof(secret), &ret->blob,
					  &ret->seed);
	if (r == 0)
		r = vigil_hash_digest(TPM2_ALG_SHA256, secret, sizeof(secret), hash, sizeof(hash));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r == 0)
		r = vigil_store_challenge_put(vd->db, id, hash, ek.ek_hash, ek.fingerprint, ak,
					      aklen, vd_now_ms() + VD_CHALLENGE_TTL_MS);
	return r;
}

/* A push device just enrolled is not missed before one interval (and the grace) passed. */
static int push_due(struct vd *vd, const char *id)
{
	struct vigil_device d;
	int r = vigil_store_device_get(vd->db, id, &d);

	if (r < 0 || d.mode != VIGIL_MODE_PUSH)
		return r;
	return vigil_store_device_set_due(vd->db, id, vd_now_ms() + next_ms(vd, &d));
}

/**
 * vd_enroll_finish() - bind a device to its EK and AK when it answered its challenge
 * @vd: the daemon
 * @id: the device
 * @m: the secret it recovered with ActivateCredential
 * @ret_error: on refusal, the error code for the reply, else NULL
 *
 * Return: 0 (see *@ret_error), or a negative errno.
 */
int vd_enroll_finish(struct vd *vd, const char *id, const struct vigil_msg_secret *m,
		     const char **ret_error)
{
	uint8_t want[32], got[32], ek_hash[32], fingerprint[32], ak[sizeof(TPM2B_PUBLIC)];
	size_t aklen = sizeof(ak);
	int r;

	*ret_error = NULL;
	r = vigil_store_challenge_take(vd->db, id, vd_now_ms(), want, ek_hash, fingerprint, ak,
				       &aklen);
	if (r == -ENOENT) {
		*ret_error = "no_challenge";
		return 0;
	}
	if (r == 0)
		r = vigil_hash_digest(TPM2_ALG_SHA256, m->secret, m->len, got, sizeof(got));
	if (r < 0)
		return r;
	if (m->len != VIGIL_CREDENTIAL_SECRET_SIZE || CRYPTO_memcmp(want, got, sizeof(got))) {
		*ret_error = "secret_mismatch";
		return 0;
	}
	r = vigil_store_enroll(vd->db, id, ek_hash, fingerprint, ak, aklen);
	if (r == -EEXIST || r == -EPERM) {
		*ret_error = "ek_mismatch";
		return 0;
	}
	if (r == 0)
		r = push_due(vd, id);
	if (r == 0) {
		from0_set(vd, id, false);
		vd_log(vd, LOG_NOTICE, "%s: enrolled", id);
	}
	return r;
}
