// SPDX-License-Identifier: MIT
/*
 * verifierd_pull.c: what `vigil verifierd` starts by itself, on a timer: polling pull-mode
 * agents (claim the due devices, POST /v1/quote with a fresh nonce and the cursor, verify
 * the evidence when it comes), enrolling registered pull-mode devices (identity, challenge,
 * activation), and recording push-mode devices whose evidence is overdue as missed.
 *
 * Invariants: a device is polled only under this process's lease (vigil_store_claim()), at
 * most once at a time; every request ends in exactly one outcome (verdict, missed, or a retry
 * from record 0 after log_cursor); at most max_inflight requests are in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cleanup.h"
#include "verifierd.h"

#define TICK_MS 100
#define SWEEP_MS 1000
#define ENROLL_SWEEP_MS 2000
#define AK_PRUNE_MS 60000 /* how often prepared AKs of devices not attested lately are dropped */
#define AK_UNUSED_MS 600000
#define CLAIM_MAX 256 /* devices one claim statement takes */
/* pull devices one tick starts at most: 10,240 a second, 20,000 devices at a 2 s interval;
 * and at most that many TLS handshakes at once when a whole fleet is due (a restart) */
#define TICK_CLAIM_MAX 1024

/* One request to one pull agent, and what it needs when the answer comes. */
struct poll {
	struct vd *vd;
	struct vigil_device d;
	uint8_t nonce[VD_NONCE_SIZE];
	struct vigil_msg_challenge challenge;
	int64_t sent; /* vd_mono_ms() */
	bool enrolling;
};

static void poll_start(struct vd *vd, const struct vigil_device *d);

/* A request ends well within the device's lease, so it never outlives it. */
static uint32_t request_ms(const struct vd *vd)
{
	uint32_t half = vd->o.lease_ms / 2;

	return vd->o.limits.request_ms < half ? vd->o.limits.request_ms : half;
}

static void poll_free(struct poll *p)
{
	p->vd->inflight--;
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

static void missed(struct vd *vd, struct vigil_device *d, const char *why)
{
	struct vd_outcome out;

	if (vd_missed(vd, d, why, VD_NO_LATENCY, &out) < 0)
		vd_log(vd, LOG_ERR, "%s: could not record a missed attestation", d->id);
}

static void quote_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct poll *p = arg;
	struct vd *vd = p->vd;
	struct vd_outcome out;
	char why[512];

	if (status != 200) {
		snprintf(why, sizeof(why), "%s: %s", p->d.address,
			 status ? "the agent refused the quote request" : err);
		if (!vd->stop)
			missed(vd, &p->d, why);
	} else if (vd_attest(vd, &p->d, p->sent, p->nonce, sizeof(p->nonce), body, len, &out) < 0) {
		vd_log(vd, LOG_ERR, "%s: attestation could not be verified", p->d.id);
	} else if (!out.recorded && !strcmp(out.reason, "log_cursor") && !vd->stop) {
		poll_start(vd, &p->d); /* rebooted: ask again, from record 0 */
	}
	poll_free(p);
}

static void poll_start(struct vd *vd, const struct vigil_device *d)
{
	struct vigil_msg_quote_request q = { .nonce_len = VD_NONCE_SIZE };
	_cleanup_free_ char *body = NULL;
	struct poll *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return;
	p->vd = vd;
	p->d = *d;
	p->sent = vd_mono_ms();
	vd->inflight++;
	r = RAND_bytes(p->nonce, sizeof(p->nonce)) == 1 ? 0 : -EIO;
	memcpy(q.nonce, p->nonce, sizeof(p->nonce));
	q.from = vd_from(vd, d);
	q.selection = vd->o.selection;
	q.interval_ms = d->interval_ms;
	if (r == 0)
		r = vigil_msg_quote_request_format(&q, &body);
	if (r == 0)
		r = vigil_http_post(vd->client, d->address, d->id, "/v1/quote", body, strlen(body),
				    request_ms(vd), vd->o.limits.max_body, quote_done, p);
	if (r < 0) {
		vd_log(vd, LOG_ERR, "%s: cannot poll: %s", d->id, strerror(-r));
		poll_free(p);
	}
}

/* ---- pull enrollment: identity → challenge → activation ---- */

static void activate_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct poll *p = arg;
	struct vigil_msg_secret m;
	const char *error = NULL;

	if (status != 200)
		vd_log(p->vd, LOG_WARNING, "%s: activation failed: %s", p->d.id,
		       status ? "refused by the agent" : err);
	else if (vigil_msg_secret_parse((const char *)body, len, &m) < 0)
		vd_log(p->vd, LOG_WARNING, "%s: activation: malformed reply", p->d.id);
	else if (vd_enroll_finish(p->vd, p->d.id, &m, &error) < 0 || error)
		vd_log(p->vd, LOG_WARNING, "%s: enrollment refused: %s", p->d.id,
		       error ? error : "internal error");
	OPENSSL_cleanse(&m, sizeof(m));
	poll_free(p);
}

static void identity_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct poll *p = arg;
	struct vd *vd = p->vd;
	_cleanup_free_ char *out = NULL;
	struct vigil_msg_identity m;
	const char *error = NULL;
	char detail[256];
	int r = -EPROTO;

	if (status == 200 && vigil_msg_identity_parse((const char *)body, len, &m) == 0)
		r = vd_enroll_begin(vd, p->d.id, &m, &p->challenge, &error, detail, sizeof(detail));
	if (r == 0 && error)
		vd_log(vd, LOG_WARNING, "%s: enrollment refused: %s: %s", p->d.id, error, detail);
	if (r == 0 && !error)
		r = vigil_msg_challenge_format(&p->challenge, &out);
	if (r == 0 && !error)
		r = vigil_http_post(vd->client, p->d.address, p->d.id, "/v1/activate", out,
				    strlen(out), request_ms(vd), VIGIL_PROTO_SMALL_MAX,
				    activate_done, p);
	if (r == 0 && !error)
		return;
	if (r < 0)
		vd_log(vd, LOG_WARNING, "%s: enrollment: %s", p->d.id,
		       status == 200 ? strerror(-r) :
		       status	     ? "identity refused" :
				       err);
	poll_free(p);
}

static void enroll_start(struct vd *vd, const struct vigil_device *d)
{
	struct poll *p = calloc(1, sizeof(*p));

	if (!p)
		return;
	p->vd = vd;
	p->d = *d;
	p->enrolling = true;
	vd->inflight++;
	if (vigil_http_post(vd->client, d->address, d->id, "/v1/identity", "{}\n", 3,
			    request_ms(vd), VIGIL_PROTO_SMALL_MAX, identity_done, p) < 0)
		poll_free(p);
}

static void enroll_sweep(struct vd *vd, int64_t now)
{
	struct vigil_device *d = NULL, leased;
	size_t n = 0;

	if (vd->inflight >= vd->o.max_inflight ||
	    vigil_store_device_list_unenrolled(vd->db, vd->o.owner, VIGIL_MODE_PULL, now,
					       vd->o.max_inflight - vd->inflight, &d, &n) < 0)
		return;
	for (size_t i = 0; i < n && vd->inflight < vd->o.max_inflight; i++)
		if (vigil_store_lease(vd->db, d[i].id, vd->o.owner, now, vd->o.lease_ms, &leased) ==
		    0)
			enroll_start(vd, &leased);
	free(d);
}

/* ---- the timer ---- */

/* Claim up to @max due devices of @mode and start their attestations; how many were claimed. */
static size_t claim_and(struct vd *vd, enum vigil_device_mode mode, int64_t now, size_t max)
{
	struct vigil_device *d = NULL;
	size_t n = 0;

	if (max == 0 ||
	    vigil_store_claim(vd->db, vd->o.owner, mode, now, vd->o.lease_ms, max, &d, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (mode == VIGIL_MODE_PULL)
			poll_start(vd, &d[i]);
		else
			missed(vd, &d[i], "no evidence within the interval");
	}
	free(d);
	return n;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	static int64_t last_sweep, last_enroll, last_prune;
	struct vd *vd = arg;
	int64_t now = vd_now_ms();
	uint32_t room = vd->o.max_inflight > vd->inflight ? vd->o.max_inflight - vd->inflight : 0;

	(void)fd;
	(void)what;
	if (vd->stop)
		return;
	if (vd->nbatch && vd_mono_ms() - vd->batch_start >= VD_BATCH_MS)
		vd_flush(vd); /* the loop has been too busy to run the flush event */
	/* in chunks, until none is due or the tick's share or the room in flight is used */
	if (room > TICK_CLAIM_MAX)
		room = TICK_CLAIM_MAX;
	for (size_t got = CLAIM_MAX; got == CLAIM_MAX && room;) {
		got = claim_and(vd, VIGIL_MODE_PULL, now, room < CLAIM_MAX ? room : CLAIM_MAX);
		room -= (uint32_t)got;
	}
	if (now - last_sweep >= SWEEP_MS) {
		last_sweep = now;
		for (size_t got = CLAIM_MAX, left = TICK_CLAIM_MAX; got == CLAIM_MAX && left;
		     left -= got)
			got = claim_and(vd, VIGIL_MODE_PUSH, now, CLAIM_MAX);
	}
	if (now - last_prune >= AK_PRUNE_MS) {
		last_prune = now;
		vd_aks_prune(vd, now - AK_UNUSED_MS);
	}
	if (now - last_enroll >= ENROLL_SWEEP_MS) {
		last_enroll = now;
		enroll_sweep(vd, now);
	}
}

/**
 * vd_schedule_start() - start the timer that polls, enrolls and notices missed attestations
 * @vd: the daemon (event loop, store and client set up)
 *
 * Return: 0, or a negative errno.
 */
int vd_schedule_start(struct vd *vd)
{
	const struct timeval tv = { .tv_sec = 0, .tv_usec = (suseconds_t)TICK_MS * 1000 };

	vd->tick = event_new(vd->base, -1, EV_PERSIST, tick, vd);
	if (!vd->tick || event_add(vd->tick, &tv) < 0)
		return -ENOMEM;
	return 0;
}
