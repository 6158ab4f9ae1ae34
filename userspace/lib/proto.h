/* SPDX-License-Identifier: MIT */
/*
 * proto.h: the bodies of vigil's fleet protocol (docs/fleet-protocol.md): what `vigil agent`,
 * `vigil verifierd` and `vigil fleet` send each other as JSON over HTTP/1.1.
 *
 * The device a request is about is never in a body: it is the authenticated CN of the TLS
 * client certificate (agent → verifierd) or the device the verifier connected to (pull). So a
 * device can only ever speak for itself.
 *
 * Every parser here reads untrusted input (tests/fuzz/fuzz_proto.c): strict JSON through
 * vigil_json_parse() with its depth and member bounds, the body bounded by the caller, every
 * member type- and range-checked, base64 decoded strictly and bounded, marshalled TPM
 * structures unmarshalled with no trailing bytes. Unknown members are ignored (a later version
 * may add some); a missing or malformed member is -EINVAL (-EFBIG when too large). Formatters
 * write what the parsers read (round trip, tested). Conventions are libvigil's: 0 or a negative
 * errno, out-parameters written only on success; free() every string returned.
 */
#ifndef VIGIL_PROTO_H
#define VIGIL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "store.h"

#define VIGIL_PROTO_SMALL_MAX (64u << 10) /* bytes of every body but evidence and policies */

/**
 * struct vigil_msg_identity - a device's TPM identity (push: POST /v1/enroll body; pull: the
 * reply to GET /v1/identity)
 * @ek: its EK public area ("ek_public": base64 of the marshalled TPM2B_PUBLIC)
 * @ek_cert: its EK certificate, DER ("ek_cert": base64), at most VIGIL_EK_CERT_MAX bytes
 * @ek_cert_len: its length
 * @ak: its AK public area ("ak_public": base64 of the marshalled TPM2B_PUBLIC)
 */
struct vigil_msg_identity {
	TPM2B_PUBLIC ek;
	uint8_t ek_cert[4096];
	size_t ek_cert_len;
	TPM2B_PUBLIC ak;
};

/**
 * struct vigil_msg_challenge - MakeCredential's output (push: the reply to /v1/enroll; pull:
 * POST /v1/activate body): "credential_blob", "encrypted_secret" (base64 of the marshalled
 * TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET)
 */
struct vigil_msg_challenge {
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
};

/**
 * struct vigil_msg_secret - the activated credential (push: POST /v1/activate body; pull: the
 * reply to /v1/activate): "secret", base64, 1..32 bytes
 */
struct vigil_msg_secret {
	uint8_t secret[32];
	size_t len;
};

/**
 * struct vigil_msg_quote_request - what to quote (push: the reply to POST /v1/nonce; pull:
 * POST /v1/quote body)
 * @nonce: "nonce", hex, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX bytes
 * @nonce_len: its length
 * @from: "from": the first log record wanted (the verifier's cursor; 0 after a reboot)
 * @selection: "pcrs": the PCR selection, vigil_pcrsel_parse() syntax ("sha256:11")
 * @interval_ms: "interval_ms": the device's attestation interval (push agents pace by it)
 */
struct vigil_msg_quote_request {
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	uint64_t from;
	TPML_PCR_SELECTION selection;
	uint32_t interval_ms;
};

/**
 * struct vigil_msg_result - verifierd's answer to evidence (push: the reply to /v1/evidence)
 * @state: "state": the device state after it (vigil_device_state_name())
 * @reason: "reason": the reject reason name, "none" when accepted
 * @next_ms: "next_ms": milliseconds until the next attestation is due
 */
struct vigil_msg_result {
	enum vigil_device_state state;
	char reason[48];
	uint32_t next_ms;
};

/**
 * struct vigil_msg_device - the operator's description of a device (POST /v1/devices):
 * "id", "mode" ("push"|"pull"), "address" (pull only, "host:port"), "policy" (may be absent),
 * "interval_ms" (100..86400000, default 2000)
 */
struct vigil_msg_device {
	char id[VIGIL_DEVICE_ID_MAX + 1];
	enum vigil_device_mode mode;
	char address[256];
	char policy[129];
	uint32_t interval_ms;
};

/**
 * struct vigil_msg_policy_ref - the policy a device is verified against (PUT
 * /v1/devices/ID/policy): "policy", a policy name, "" for none
 */
struct vigil_msg_policy_ref {
	char policy[129];
};

/* An error reply, any status >= 400: {"error": "<reason code>", "detail": "<text>"}. */
struct vigil_msg_error {
	char error[48];
	char detail[256];
};

int vigil_msg_identity_parse(const char *text, size_t len, struct vigil_msg_identity *ret)
	__attribute__((warn_unused_result));
int vigil_msg_identity_format(const struct vigil_msg_identity *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_challenge_parse(const char *text, size_t len, struct vigil_msg_challenge *ret)
	__attribute__((warn_unused_result));
int vigil_msg_challenge_format(const struct vigil_msg_challenge *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_secret_parse(const char *text, size_t len, struct vigil_msg_secret *ret)
	__attribute__((warn_unused_result));
int vigil_msg_secret_format(const struct vigil_msg_secret *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_quote_request_parse(const char *text, size_t len, struct vigil_msg_quote_request *ret)
	__attribute__((warn_unused_result));
int vigil_msg_quote_request_format(const struct vigil_msg_quote_request *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_result_parse(const char *text, size_t len, struct vigil_msg_result *ret)
	__attribute__((warn_unused_result));
int vigil_msg_result_format(const struct vigil_msg_result *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_device_parse(const char *text, size_t len, struct vigil_msg_device *ret)
	__attribute__((warn_unused_result));
int vigil_msg_device_format(const struct vigil_msg_device *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_policy_ref_parse(const char *text, size_t len, struct vigil_msg_policy_ref *ret)
	__attribute__((warn_unused_result));
int vigil_msg_policy_ref_format(const struct vigil_msg_policy_ref *m, char **ret)
	__attribute__((warn_unused_result));
int vigil_msg_error_parse(const char *text, size_t len, struct vigil_msg_error *ret)
	__attribute__((warn_unused_result));
int vigil_msg_error_format(const char *error, const char *detail, char **ret)
	__attribute__((warn_unused_result));
/* A device as `vigil fleet list/show` gets it (GET /v1/devices[/ID]); history may be NULL. */
int vigil_msg_device_status_format(const struct vigil_device *d,
				   const struct vigil_attestation *history, size_t count,
				   char **ret) __attribute__((warn_unused_result));
int vigil_device_state_parse(const char *name, enum vigil_device_state *ret)
	__attribute__((warn_unused_result));

#endif /* VIGIL_PROTO_H */
