/* SPDX-License-Identifier: MIT */
/*
 * store.h: the fleet database of vigil verifierd: devices, their enrollment, the incremental
 * verification state (cursor), verdict history, alerts waiting for delivery, signed policies,
 * and leases that let several verifierd processes share one fleet.
 *
 * Two backends behind one interface: SQLite (a file; the default, zero set-up; store_sqlite.c)
 * and PostgreSQL (a "postgresql://" or "postgres://" URI, libpq; store_pg.c). The schema is
 * versioned: a table schema_version holds the version, and opening a database runs every
 * migration after it in one transaction each (docs/fleet-format.md lists them). A database
 * newer than this build is refused (-EPROTO), never written.
 *
 * Leases: a verifierd process ("owner", unique per process: host:pid:start) claims devices that
 * are due with vigil_store_claim(): a device is claimable when its lease is free or expired. On
 * PostgreSQL the claim is one statement using SELECT ... FOR UPDATE SKIP LOCKED, so two
 * processes never claim the same device; on SQLite, BEGIN IMMEDIATE serialises writers. Every
 * write of an attestation outcome (vigil_store_record()) is conditional on the caller still
 * holding the lease and on the device's attestation sequence number being the one it read, so
 * a process that lost its lease (paused, partitioned) can never record a verdict twice or
 * overwrite a newer one: it gets -ESTALE and drops the result.
 *
 * Conventions are libvigil's: 0 or a negative errno; out-parameters written only on success.
 * Backend errors are -EIO with the backend's message in vigil_store_error(). Strings from the
 * database are bounded by the sizes below (longer values are refused on write: -E2BIG).
 * A store handle is used by one thread at a time.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"

#define VIGIL_STORE_SCHEMA_VERSION 1
#define VIGIL_DEVICE_ID_MAX 64 /* [A-Za-z0-9._-], 1..64 chars, not starting with '.' or '-' */
#define VIGIL_OWNER_MAX 128
#define VIGIL_STORE_TEXT_MAX ((size_t)16 << 20) /* bytes of a verdict or an alert JWS */
#define VIGIL_STORE_HISTORY_MAX 1000 /* rows one history/alerts_due call returns at most */

enum vigil_device_mode {
	VIGIL_MODE_PUSH = 0, /* the agent asks for nonces and posts evidence */
	VIGIL_MODE_PULL = 1, /* verifierd connects to the agent at @address */
};

/* Attestation state of a device; names (vigil_device_state_name()) are an interface. */
enum vigil_device_state {
	VIGIL_DEVICE_REGISTERED = 0, /* added by the operator, not enrolled yet */
	VIGIL_DEVICE_ENROLLED, /* EK and AK bound, no verdict yet */
	VIGIL_DEVICE_TRUSTED, /* the last attestation was accepted */
	VIGIL_DEVICE_UNTRUSTED, /* the last attestation was rejected */
	VIGIL_DEVICE_MISSED, /* no attestation within its deadline (unreachable, no push) */
};

/* struct vigil_cursor (attest.h): how far a device's log has been verified in its boot. */

/**
 * struct vigil_device - one device of the fleet, as stored
 * @id: the operator's name for it (the CN of its TLS client certificate)
 * @mode: push or pull
 * @address: pull mode: "host:port" of its agent; "" in push mode
 * @policy: the name of the signed policy it is verified against, "" for none
 * @interval_ms: attestation interval
 * @state: its attestation state
 * @enrolled: EK and AK are bound (@ek_hash, @ak_public valid)
 * @ek_hash: SHA-256 of its EK public area (enroll.h): the identity a different TPM cannot take
 * @ek_cert_fingerprint: SHA-256 of its EK certificate
 * @ak_public: its AK public area, marshalled TPM2B_PUBLIC
 * @ak_public_len: its length
 * @cursor: incremental verification state
 * @policy_version: the highest version of @policy accepted for it (anti-rollback)
 * @seq: attestations recorded so far; vigil_store_record() moves it by one
 * @due_ms: when the next attestation is due (ms since the epoch)
 * @last_ms: time of the last recorded attestation, 0 if none
 * @last_reason: reject reason name of the last verdict ("none" when accepted), "" if none
 * @failures: consecutive failed or missed attestations
 */
struct vigil_device {
	char id[VIGIL_DEVICE_ID_MAX + 1];
	enum vigil_device_mode mode;
	char address[256];
	char policy[129];
	uint32_t interval_ms;
	enum vigil_device_state state;
	bool enrolled;
	uint8_t ek_hash[32];
	uint8_t ek_cert_fingerprint[32];
	uint8_t ak_public[sizeof(TPM2B_PUBLIC)];
	size_t ak_public_len;
	struct vigil_cursor cursor;
	uint64_t policy_version;
	uint64_t seq;
	int64_t due_ms;
	int64_t last_ms;
	char last_reason[48];
	uint32_t failures;
};

/**
 * struct vigil_attestation - one recorded attestation outcome (verdict history)
 * @device: the device
 * @seq: its sequence number for the device (1, 2, ...)
 * @time_ms: when it was recorded
 * @state: the device state it led to (TRUSTED, UNTRUSTED or MISSED)
 * @reason: reject reason name ("none" when accepted, "missed" when nothing arrived)
 * @from: first log record it covered
 * @to: records covered after it (cursor.next)
 * @verdict: the verdict JSON (vigil_verdict_to_json()), or NULL (a missed attestation)
 */
struct vigil_attestation {
	char device[VIGIL_DEVICE_ID_MAX + 1];
	uint64_t seq;
	int64_t time_ms;
	enum vigil_device_state state;
	char reason[48];
	uint64_t from;
	uint64_t to;
	char *verdict;
};

/**
 * struct vigil_alert - a signed alert waiting for (or done with) delivery
 * @id: its id in the store
 * @device: the device it is about
 * @seq: the attestation it was raised for
 * @jws: the compact JWS (compliance.h vigil_jws_sign())
 * @attempts: delivery attempts so far
 * @next_ms: when to try again
 */
struct vigil_alert {
	int64_t id;
	char device[VIGIL_DEVICE_ID_MAX + 1];
	uint64_t seq;
	char *jws;
	uint32_t attempts;
	int64_t next_ms;
};

struct vigil_store;

const char *vigil_device_state_name(enum vigil_device_state s);
bool vigil_device_id_valid(const char *id);

int vigil_store_open(const char *uri, struct vigil_store **ret) __attribute__((warn_unused_result));
/* vigil_store_open() that keeps the backend's message of a failure in @err ("" if none). */
int vigil_store_open_err(const char *uri, struct vigil_store **ret, char *err, size_t err_size)
	__attribute__((warn_unused_result));
void vigil_store_close(struct vigil_store *s);
void vigil_store_closep(struct vigil_store **s);
const char *vigil_store_error(const struct vigil_store *s);
int vigil_store_schema_version(struct vigil_store *s, int *ret) __attribute__((warn_unused_result));

/* Devices. add: -EEXIST if the id is taken. get/update/remove: -ENOENT if there is none. */
int vigil_store_device_add(struct vigil_store *s, const struct vigil_device *d)
	__attribute__((warn_unused_result));
int vigil_store_device_get(struct vigil_store *s, const char *id, struct vigil_device *ret)
	__attribute__((warn_unused_result));
int vigil_store_device_list(struct vigil_store *s, struct vigil_device **ret, size_t *ret_count)
	__attribute__((warn_unused_result));
int vigil_store_device_list_unenrolled(struct vigil_store *s, const char *owner,
				       enum vigil_device_mode mode, int64_t now_ms, size_t max,
				       struct vigil_device **ret, size_t *ret_count)
	__attribute__((warn_unused_result));
int vigil_store_device_remove(struct vigil_store *s, const char *id)
	__attribute__((warn_unused_result));
int vigil_store_device_set_policy(struct vigil_store *s, const char *id, const char *policy)
	__attribute__((warn_unused_result));
int vigil_store_device_set_due(struct vigil_store *s, const char *id, int64_t due_ms)
	__attribute__((warn_unused_result));

/*
 * vigil_store_enroll() - bind a registered device to its EK and AK
 * Refused with -EEXIST when another device is bound to the same @ek_hash, and with -EPERM
 * when @id is already enrolled with another @ek_hash (a different TPM cannot take a device's
 * identity; the operator removes and re-adds a device whose TPM was replaced). Enrolling again
 * with the same EK replaces the AK and resets the cursor.
 */
int vigil_store_enroll(struct vigil_store *s, const char *id, const uint8_t ek_hash[32],
		       const uint8_t ek_cert_fingerprint[32], const uint8_t *ak_public,
		       size_t ak_public_len) __attribute__((warn_unused_result));

/*
 * Enrollment challenges: one secret per device at a time, valid until @expires_ms; taking it
 * deletes it, so a challenge answers once (a replayed activation finds none: -ENOENT).
 * Stored as SHA-256 of the secret, compared in constant time, with the EK, EK certificate
 * and AK it was made for (what vigil_store_enroll() binds once it is answered).
 * @ret_ak_public has room for sizeof(TPM2B_PUBLIC) bytes.
 */
int vigil_store_challenge_put(struct vigil_store *s, const char *id, const uint8_t secret_hash[32],
			      const uint8_t ek_hash[32], const uint8_t ek_cert_fingerprint[32],
			      const uint8_t *ak_public, size_t ak_public_len, int64_t expires_ms)
	__attribute__((warn_unused_result));
int vigil_store_challenge_take(struct vigil_store *s, const char *id, int64_t now_ms,
			       uint8_t ret_secret_hash[32], uint8_t ret_ek_hash[32],
			       uint8_t ret_ek_cert_fingerprint[32], uint8_t *ret_ak_public,
			       size_t *ret_ak_public_len) __attribute__((warn_unused_result));

/*
 * vigil_store_claim() - lease up to @max enrolled devices due at @now_ms
 * Devices whose due_ms <= @now_ms and whose lease is free, expired, or already @owner's, in
 * due order; their lease is set to @owner until @now_ms + @lease_ms. *@ret (free()) receives
 * them as stored. Devices of a mode other than @mode are left alone. A claimed device's due time
 * becomes the lease's end: it is not claimed again while in flight, and a dead owner's devices
 * are due exactly when its leases run out.
 */
int vigil_store_claim(struct vigil_store *s, const char *owner, enum vigil_device_mode mode,
		      int64_t now_ms, int64_t lease_ms, size_t max, struct vigil_device **ret,
		      size_t *ret_count) __attribute__((warn_unused_result));
/*
 * vigil_store_lease() - lease one device for @owner (a push agent asking for a nonce):
 * -EBUSY while another owner's lease on it is unexpired; *@ret as stored.
 */
int vigil_store_lease(struct vigil_store *s, const char *id, const char *owner, int64_t now_ms,
		      int64_t lease_ms, struct vigil_device *ret)
	__attribute__((warn_unused_result));
int vigil_store_release(struct vigil_store *s, const char *owner)
	__attribute__((warn_unused_result));

/*
 * vigil_store_record() - record one attestation outcome, atomically
 * @d: the device as read with its lease (d->seq is the sequence it read); the new state,
 *	cursor, policy_version, due_ms, last_reason, failures are taken from it
 * @a: the history row; a->seq must be d->seq + 1
 * @alert_jws: an alert to queue for delivery with it, or NULL
 * Everything is written in one transaction, only if @owner still holds the lease and the
 * device's seq is still a->seq - 1: otherwise nothing is written and -ESTALE is returned.
 */
int vigil_store_record(struct vigil_store *s, const char *owner, const struct vigil_device *d,
		       const struct vigil_attestation *a, const char *alert_jws)
	__attribute__((warn_unused_result));
/* One outcome for vigil_store_record_many(): the arguments of a vigil_store_record(). */
struct vigil_store_rec {
	const struct vigil_device *d;
	const struct vigil_attestation *a;
	const char *alert_jws;
};

int vigil_store_record_many(struct vigil_store *s, const char *owner,
			    const struct vigil_store_rec *recs, size_t n, int *ret)
	__attribute__((warn_unused_result));
/* The last @max attestations of a device, newest first; vigil_attestations_free() them. */
int vigil_store_history(struct vigil_store *s, const char *id, size_t max,
			struct vigil_attestation **ret, size_t *ret_count)
	__attribute__((warn_unused_result));
void vigil_attestations_free(struct vigil_attestation *a, size_t count);

/*
 * Alerts due for delivery at @now_ms (at most @max), claimed: their next_ms moves to @now_ms +
 * VIGIL_ALERT_CLAIM_MS, so another verifierd on the same database does not deliver them too
 * (and takes them over if this one dies before done or retry). done: delete; retry:
 * attempts + 1, next_ms.
 */
#define VIGIL_ALERT_CLAIM_MS 60000
int vigil_store_alerts_due(struct vigil_store *s, int64_t now_ms, size_t max,
			   struct vigil_alert **ret, size_t *ret_count)
	__attribute__((warn_unused_result));
int vigil_store_alert_done(struct vigil_store *s, int64_t id) __attribute__((warn_unused_result));
int vigil_store_alert_retry(struct vigil_store *s, int64_t id, int64_t next_ms)
	__attribute__((warn_unused_result));
void vigil_alerts_free(struct vigil_alert *a, size_t count);

/* Signed policies (DSSE envelopes) by name; put replaces. get: -ENOENT if none. */
int vigil_store_policy_put(struct vigil_store *s, const char *name, uint64_t version,
			   const uint8_t *envelope, size_t len) __attribute__((warn_unused_result));
int vigil_store_policy_get(struct vigil_store *s, const char *name, uint64_t *ret_version,
			   uint8_t **ret_envelope, size_t *ret_len)
	__attribute__((warn_unused_result));

#endif /* VIGIL_STORE_H */
