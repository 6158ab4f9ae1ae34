/* SPDX-License-Identifier: MIT */
/*
 * verifierd.h: what the files of `vigil verifierd` share (docs/fleet-protocol.md).
 *
 *	cmd_verifierd.c		options, start-up, the event loop, shutdown
 *	verifierd_api.c		HTTP requests: the agents' push and enrollment API, the operator's
 *	verifierd_attest.c	one attestation: policy, verification, verdict, alert, record
 *	verifierd_pull.c	the schedule: pull-mode polling, pull enrollment, missed push devices
 *	verifierd_alert.c	alert delivery to syslog and the webhook (a thread of its own)
 *
 * Invariants: one event loop thread owns everything here except the alert thread, which has
 * its own database handle and touches nothing else; the loop never blocks on the network
 * (agents and webhooks), only on the database.
 */
#ifndef VIGIL_VERIFIERD_H
#define VIGIL_VERIFIERD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/types.h>

#include "attest.h"
#include "enroll.h"
#include "hmap.h"
#include "http.h"
#include "policy.h"
#include "proto.h"
#include "store.h"

#define VD_TRUST_MAX 8
#define VD_NONCE_SIZE 32
#define VD_NONCE_TTL_MS 30000
#define VD_CHALLENGE_TTL_MS 60000
#define VD_HISTORY_SHOWN 20
#define VD_ALERT_FAILURES_MAX 16

/**
 * struct vd_options - the command line
 * @db: database URI (store.h)
 * @listen: "HOST:PORT" of the agents' TLS listener, or NULL (pull only)
 * @socket: the operator's Unix socket
 * @tls: verifierd's certificate, key and the fleet CA
 * @ek_ca: directory of the EK certificate CAs
 * @alert_key: ES256 key that signs alerts (PEM), or NULL: alerts unsigned are not sent
 * @trust: policy-signing public keys
 * @ntrust: their number
 * @webhook: URL alerts are POSTed to, or NULL
 * @owner: this process's lease owner name
 * @selection: the PCRs quoted ("sha256:11")
 * @log_bank: the bank the log is replayed in
 * @log_pcr: the PCR the log extends
 * @interval_ms: default attestation interval of a device added without one
 * @lease_ms: lease length; 0: 3 x the longest interval seen, at least 6 s
 * @grace_ms: a push device is missed this long after its interval passed
 * @max_inflight: pull requests in flight at once
 * @limits: the server's bounds
 */
struct vd_options {
	const char *db;
	const char *listen;
	const char *socket;
	struct vigil_http_tls tls;
	const char *ek_ca;
	const char *alert_key;
	const char *trust[VD_TRUST_MAX];
	size_t ntrust;
	const char *webhook;
	char owner[VIGIL_OWNER_MAX];
	TPML_PCR_SELECTION selection;
	uint16_t log_bank;
	uint32_t log_pcr;
	uint32_t interval_ms;
	uint32_t lease_ms;
	uint32_t grace_ms;
	uint32_t max_inflight;
	struct vigil_http_limits limits;
};

/* A nonce handed to a push agent, until its evidence comes (or it expires). */
struct vd_pending {
	char device[VIGIL_DEVICE_ID_MAX + 1];
	uint8_t nonce[VD_NONCE_SIZE];
	uint64_t from;
	int64_t expires_ms;
	int64_t issued; /* vd_mono_ms() */
	bool used;
};

#define VD_BATCH_MAX 256 /* outcomes written with one commit at most */
#define VD_BATCH_MS 20 /* an outcome waits at most this long for others while the loop is busy */

/**
 * struct vd_rec - an outcome waiting for the batch write (vd_flush())
 * @n: the device's new row (as vigil_store_record() takes it)
 * @a: the history row; @a.verdict is owned
 * @alert: the alert to queue, or NULL; owned
 * @since: vd_mono_ms() to count the latency from once written, or -1
 * @announce: log the state change once written
 */
struct vd_rec {
	struct vigil_device n;
	struct vigil_attestation a;
	char *alert;
	int64_t since;
	bool announce;
};

#define VD_LATENCY_MAX_MS 10000 /* the histogram's last bucket holds everything slower */

/**
 * struct vd_stats - what GET /v1/stats reports (DELETE /v1/stats resets it)
 * @attestations: outcomes recorded
 * @trusted: of them, accepted
 * @untrusted: rejected
 * @missed: missed
 * @latency: per millisecond, how many attestations took that long from the nonce being
 *	issued (push) or the quote request sent (pull) to the verdict recorded
 * @count: entries in @latency
 * @max: the slowest
 */
struct vd_stats {
	uint64_t attestations;
	uint64_t trusted;
	uint64_t untrusted;
	uint64_t missed;
	uint32_t latency[VD_LATENCY_MAX_MS + 1];
	uint64_t count;
	int64_t max;
};

/* A signed policy as loaded, kept until the store holds another version. */
struct vd_policy {
	char name[129];
	uint64_t version;
	uint8_t envelope_hash[32];
	uint8_t keyid[32];
	struct vigil_policy *policy;
	int64_t checked_ms;
};

/**
 * struct vd - the daemon
 * @o: options
 * @base: the event loop
 * @db: the loop's database handle
 * @server: agents' TLS listener and the operator's socket
 * @client: pull-mode requests to agents
 * @trust: loaded @o.trust keys
 * @pending: push nonces (a small open table; evicted on expiry)
 * @npending: its size
 * @policies: loaded policies
 * @npolicies: their number
 * @aks: enrolled devices' AKs prepared for verification (struct vd_ak), by device id
 * @batch: outcomes of this loop pass not yet written (VD_BATCH_MAX of room)
 * @nbatch: their number
 * @batch_start: vd_mono_ms() when the first of them was queued
 * @flush: writes them when the loop has nothing more urgent (its lowest priority)
 * @from0: devices whose next log must start at record 0 (a reboot seen in a continued log)
 * @nfrom0: their number
 * @inflight: pull requests in flight
 * @tick: the schedule's timer
 * @alerts: the delivery thread
 * @alert_wake: signalled when an alert was queued
 * @stop: set to end the loop and the thread
 */
struct vd {
	struct vd_options o;
	struct event_base *base;
	struct vigil_store *db;
	struct vigil_http_server *server;
	struct vigil_http_client *client;
	EVP_PKEY *trust[VD_TRUST_MAX];
	EVP_PKEY *alert_key;
	struct vd_pending *pending;
	size_t npending;
	struct vd_policy *policies;
	size_t npolicies;
	struct vigil_hmap aks;
	struct vd_rec *batch;
	size_t nbatch;
	int64_t batch_start;
	struct event *flush;
	char (*from0)[VIGIL_DEVICE_ID_MAX + 1];
	size_t nfrom0;
	uint32_t inflight;
	struct vd_stats stats;
	struct event *tick;
	pthread_t alerts;
	pthread_mutex_t alert_lock;
	pthread_cond_t alert_wake;
	bool alerts_running;
	volatile bool stop;
};

int64_t vd_now_ms(void);
int64_t vd_mono_ms(void);
void vd_latency(struct vd *vd, int64_t since);
int vd_stats_format(const struct vd *vd, char **ret) __attribute__((warn_unused_result));
void vd_log(struct vd *vd, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* verifierd_api.c */
void vd_handle(struct vigil_http_request *req, void *arg);

/* verifierd_attest.c */

/**
 * struct vd_outcome - what one attestation of a device led to
 * @state: the device's state after it
 * @reason: the reject reason name, "none", "missed" or "log_cursor" (not recorded: ask again
 *	from record 0)
 * @next_ms: milliseconds until the next attestation is due
 * @recorded: written to the store, or queued for the batch write (false: stale lease, or
 *	nothing to record)
 */
struct vd_outcome {
	enum vigil_device_state state;
	char reason[48];
	uint32_t next_ms;
	bool recorded;
};

uint64_t vd_from(struct vd *vd, const struct vigil_device *d);
void vd_aks_prune(struct vd *vd, int64_t unused_since_ms);
int vd_attest(struct vd *vd, struct vigil_device *d, int64_t batch_since, const uint8_t *nonce,
	      size_t nonce_len, const uint8_t *evidence, size_t len, struct vd_outcome *ret);
int vd_missed(struct vd *vd, struct vigil_device *d, const char *why, int64_t batch_since,
	      struct vd_outcome *ret);
void vd_flush(struct vd *vd);
int vd_batch_start(struct vd *vd) __attribute__((warn_unused_result));
void vd_batch_stop(struct vd *vd);
#define VD_NOW INT64_MIN /* batch_since: write the outcome now; the caller waits for it */
#define VD_NO_LATENCY (-1) /* batch_since: batch it, count no latency (a missed attestation) */
void vd_policy_forget(struct vd *vd, const char *name);
int vd_enroll_begin(struct vd *vd, const char *id, const struct vigil_msg_identity *m,
		    struct vigil_msg_challenge *ret, const char **ret_error, char *detail,
		    size_t size);
int vd_enroll_finish(struct vd *vd, const char *id, const struct vigil_msg_secret *m,
		     const char **ret_error);

/* verifierd_pull.c */
int vd_schedule_start(struct vd *vd);

/* verifierd_alert.c */
int vd_alerts_start(struct vd *vd);
void vd_alerts_wake(struct vd *vd);
void vd_alerts_stop(struct vd *vd);

#endif /* VIGIL_VERIFIERD_H */
