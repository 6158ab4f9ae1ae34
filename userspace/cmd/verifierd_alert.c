// SPDX-License-Identifier: MIT
/*
 * verifierd_alert.c: delivering the alerts verifierd queued in its database: each once to
 * syslog (facility daemon; warning for failures, notice for recoveries) and, with --webhook,
 * as an HTTP POST of the compact JWS until the webhook answers 2xx, with exponential backoff.
 *
 * A thread of its own, with its own database handle and HTTP session, so a slow or dead
 * webhook never delays an attestation. Alerts live in the database until delivered, so a
 * restarted verifierd (or another one on the same PostgreSQL) delivers what was left.
 *
 * Invariants: the thread touches only its own handles and the queue's lock/condition; syslog
 * is written before the first webhook attempt and never again for the same alert.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "compliance.h"
#include "verifierd.h"

#define BATCH 64
#define RETRY_MAX_MS 60000
#define WEBHOOK_TIMEOUT_MS 5000

/* The alert's payload: the JWS's middle part, or the document itself when it is unsigned. */
static struct json_object *payload_of(const char *jws)
{
	const char *dot = strchr(jws, '.');
	const char *end = dot ? strchr(dot + 1, '.') : NULL;
	_cleanup_free_ uint8_t *text = NULL;
	struct json_object *o = NULL;
	size_t len = 0;

	if (!dot || !end)
		return vigil_json_parse(jws, strlen(jws), strlen(jws) + 1, &o) == 0 ? o : NULL;
	if (vigil_base64url_decode(dot + 1, (size_t)(end - dot - 1), VIGIL_JWS_MAX, &text, &len) <
	    0)
		return NULL;
	return vigil_json_parse((const char *)text, len, len + 1, &o) == 0 ? o : NULL;
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
			       json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       "?";
}

static void to_syslog(const struct vigil_alert *a)
{
	_cleanup_(json_object_putp) struct json_object *o = payload_of(a->jws);
	const char *kind = member(o, "kind");

	syslog(LOG_DAEMON | (strcmp(kind, "recovery") ? LOG_WARNING : LOG_NOTICE),
	       "alert %s: device %s attestation %llu: %s (%s) %s", kind, a->device,
	       (unsigned long long)a->seq, member(o, "state"), member(o, "reason"), a->jws);
}

static bool to_webhook(struct vd *vd, struct vigil_http_session *s, const struct vigil_alert *a)
{
	_cleanup_free_ char *reply = NULL;
	char err[160] = "";
	int status = 0;
	int r;

	r = vigil_http_session_call(s, "POST", vd->o.webhook, a->jws, strlen(a->jws),
				    WEBHOOK_TIMEOUT_MS, 4096, &status, &reply, err, sizeof(err));
	if (r == 0 && status >= 200 && status < 300)
		return true;
	vd_log(vd, LOG_WARNING, "alert for %s (attestation %llu): webhook: %s", a->device,
	       (unsigned long long)a->seq, r < 0 ? err : "not accepted (HTTP status)");
	return false;
}

static void deliver(struct vd *vd, struct vigil_store *db, struct vigil_http_session *s)
{
	struct vigil_alert *a = NULL;
	int64_t now = vd_now_ms();
	size_t n = 0;

	if (vigil_store_alerts_due(db, now, BATCH, &a, &n) < 0) {
		vd_log(vd, LOG_ERR, "alerts: %s", vigil_store_error(db));
		return;
	}
	for (size_t i = 0; i < n && !vd->stop; i++) {
		int64_t backoff = 1000LL << (a[i].attempts < 6 ? a[i].attempts : 6);

		if (a[i].attempts == 0)
			to_syslog(&a[i]);
		if (!s || to_webhook(vd, s, &a[i])) {
			if (vigil_store_alert_done(db, a[i].id) < 0)
				vd_log(vd, LOG_ERR, "alerts: %s", vigil_store_error(db));
			continue;
		}
		if (vigil_store_alert_retry(
			    db, a[i].id, now + (backoff < RETRY_MAX_MS ? backoff : RETRY_MAX_MS)) <
		    0)
			vd_log(vd, LOG_ERR, "alerts: %s", vigil_store_error(db));
	}
	vigil_alerts_free(a, n);
}

static void *alert_thread(void *arg)
{
	struct vd *vd = arg;
	_cleanup_(vigil_store_closep) struct vigil_store *db = NULL;
	struct vigil_http_session *s = NULL;

	if (vigil_store_open(vd->o.db, &db) < 0 ||
	    (vd->o.webhook && vigil_http_session_new(NULL, &s) < 0)) {
		vd_log(vd, LOG_ERR, "alerts: cannot start delivery");
		return NULL;
	}
	pthread_mutex_lock(&vd->alert_lock);
	while (!vd->stop) {
		struct timespec until;

		pthread_mutex_unlock(&vd->alert_lock);
		deliver(vd, db, s);
		pthread_mutex_lock(&vd->alert_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!vd->stop)
			pthread_cond_timedwait(&vd->alert_wake, &vd->alert_lock, &until);
	}
	pthread_mutex_unlock(&vd->alert_lock);
	vigil_http_session_free(s);
	return NULL;
}

/**
 * vd_alerts_start() - start the delivery thread
 * @vd: the daemon
 *
 * Return: 0, or a negative errno.
 */
int vd_alerts_start(struct vd *vd)
{
	int r;

	openlog("vigil-verifierd", LOG_PID, LOG_DAEMON);
	r = -pthread_create(&vd->alerts, NULL, alert_thread, vd);
	vd->alerts_running = r == 0;
	return r;
}

/**
 * vd_alerts_wake() - tell the delivery thread an alert was queued
 * @vd: the daemon
 */
void vd_alerts_wake(struct vd *vd)
{
	pthread_mutex_lock(&vd->alert_lock);
	pthread_cond_signal(&vd->alert_wake);
	pthread_mutex_unlock(&vd->alert_lock);
}

/**
 * vd_alerts_stop() - end the delivery thread (after its current batch)
 * @vd: the daemon
 */
void vd_alerts_stop(struct vd *vd)
{
	if (!vd->alerts_running)
		return;
	pthread_mutex_lock(&vd->alert_lock);
	vd->stop = true;
	pthread_cond_signal(&vd->alert_wake);
	pthread_mutex_unlock(&vd->alert_lock);
	pthread_join(vd->alerts, NULL);
	vd->alerts_running = false;
	closelog();
}
