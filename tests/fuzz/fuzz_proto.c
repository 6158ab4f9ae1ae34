// SPDX-License-Identifier: MIT
/*
 * fuzz_proto.c: libFuzzer harness for the fleet protocol bodies (lib/proto.c), the JSON a
 * verifierd, an agent and `vigil fleet` read from each other.
 *
 * Byte 0 of an input selects the parser, (byte 0) % 8: 0 identity, 1 challenge, 2 secret,
 * 3 quote request, 4 result, 5 device, 6 error, 7 policy reference; the rest is the body (not NUL-terminated, so
 * ASan sees any read past it). Properties besides "no crash, no leak, no UB":
 *   - a parser returns 0, -EINVAL, -EFBIG or -ENOMEM, nothing else;
 *   - what parses is within the message's bounds (strings terminated inside their fields,
 *     sizes within their arrays) and the writer takes it (the writer takes what the reader
 *     takes);
 *   - the text written parses again to an equal message, which is written to the same text
 *     (the writer is a fixed point);
 *   - a parsed device, stored as a struct vigil_device, gives a device status document that
 *     vigil_json_parse() reads.
 * Seeds (corpus/fuzz_proto/): one valid body of each message as the formatters write it, plus
 * variants (a push device without optional members, an IPv6 pull address, an error without
 * detail, a one-byte secret, several PCR banks).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "proto.h"

enum kind { IDENTITY, CHALLENGE, SECRET, QUOTE_REQUEST, RESULT, DEVICE, ERROR, POLICY_REF, KINDS };

union msg {
	struct vigil_msg_identity identity;
	struct vigil_msg_challenge challenge;
	struct vigil_msg_secret secret;
	struct vigil_msg_quote_request request;
	struct vigil_msg_result result;
	struct vigil_msg_device device;
	struct vigil_msg_error error;
	struct vigil_msg_policy_ref policy_ref;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(enum kind k, const char *text, size_t len, union msg *m)
{
	switch (k) {
	case IDENTITY:
		return vigil_msg_identity_parse(text, len, &m->identity);
	case CHALLENGE:
		return vigil_msg_challenge_parse(text, len, &m->challenge);
	case SECRET:
		return vigil_msg_secret_parse(text, len, &m->secret);
	case QUOTE_REQUEST:
		return vigil_msg_quote_request_parse(text, len, &m->request);
	case RESULT:
		return vigil_msg_result_parse(text, len, &m->result);
	case DEVICE:
		return vigil_msg_device_parse(text, len, &m->device);
	case POLICY_REF:
		return vigil_msg_policy_ref_parse(text, len, &m->policy_ref);
	default:
		return vigil_msg_error_parse(text, len, &m->error);
	}
}

static int format(enum kind k, const union msg *m, char **ret)
{
	switch (k) {
	case IDENTITY:
		return vigil_msg_identity_format(&m->identity, ret);
	case CHALLENGE:
		return vigil_msg_challenge_format(&m->challenge, ret);
	case SECRET:
		return vigil_msg_secret_format(&m->secret, ret);
	case QUOTE_REQUEST:
		return vigil_msg_quote_request_format(&m->request, ret);
	case RESULT:
		return vigil_msg_result_format(&m->result, ret);
	case DEVICE:
		return vigil_msg_device_format(&m->device, ret);
	case POLICY_REF:
		return vigil_msg_policy_ref_format(&m->policy_ref, ret);
	default:
		return vigil_msg_error_format(m->error.error, m->error.detail, ret);
	}
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static bool public_equal(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
	uint8_t x[sizeof(TPM2B_PUBLIC)], y[sizeof(TPM2B_PUBLIC)];
	size_t xl = 0, yl = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(a, x, sizeof(x), &xl) ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(b, y, sizeof(y), &yl))
		abort();
	return xl == yl && memcmp(x, y, xl) == 0;
}

static bool identity_equal(const struct vigil_msg_identity *a, const struct vigil_msg_identity *b)
{
	return public_equal(&a->ek, &b->ek) && public_equal(&a->ak, &b->ak) &&
	       a->ek_cert_len == b->ek_cert_len && !memcmp(a->ek_cert, b->ek_cert, a->ek_cert_len);
}

static bool request_equal(const struct vigil_msg_quote_request *a,
			  const struct vigil_msg_quote_request *b)
{
	return a->nonce_len == b->nonce_len && !memcmp(a->nonce, b->nonce, a->nonce_len) &&
	       a->from == b->from && vigil_pcrsel_equal(&a->selection, &b->selection) &&
	       a->interval_ms == b->interval_ms;
}

/* The members a message has, compared; padding and bytes after a terminator are not. */
static bool equal(enum kind k, const union msg *a, const union msg *b)
{
	switch (k) {
	case IDENTITY:
		return identity_equal(&a->identity, &b->identity);
	case CHALLENGE:
		return a->challenge.blob.size == b->challenge.blob.size &&
		       !memcmp(a->challenge.blob.credential, b->challenge.blob.credential,
			       a->challenge.blob.size) &&
		       a->challenge.seed.size == b->challenge.seed.size &&
		       !memcmp(a->challenge.seed.secret, b->challenge.seed.secret,
			       a->challenge.seed.size);
	case SECRET:
		return a->secret.len == b->secret.len &&
		       !memcmp(a->secret.secret, b->secret.secret, a->secret.len);
	case QUOTE_REQUEST:
		return request_equal(&a->request, &b->request);
	case RESULT:
		return a->result.state == b->result.state &&
		       !strcmp(a->result.reason, b->result.reason) &&
		       a->result.next_ms == b->result.next_ms;
	case DEVICE:
		return !strcmp(a->device.id, b->device.id) && a->device.mode == b->device.mode &&
		       !strcmp(a->device.address, b->device.address) &&
		       !strcmp(a->device.policy, b->device.policy) &&
		       a->device.interval_ms == b->device.interval_ms;
	case POLICY_REF:
		return !strcmp(a->policy_ref.policy, b->policy_ref.policy);
	default: /* the writer may replace control characters in the detail */
		return !strcmp(a->error.error, b->error.error);
	}
}

static void check_bounds(enum kind k, const union msg *m)
{
	bool ok = true;

	if (k == IDENTITY)
		ok = m->identity.ek_cert_len >= 1 &&
		     m->identity.ek_cert_len <= sizeof(m->identity.ek_cert);
	else if (k == CHALLENGE)
		ok = m->challenge.blob.size >= 1 && m->challenge.seed.size >= 1;
	else if (k == SECRET)
		ok = m->secret.len >= 1 && m->secret.len <= sizeof(m->secret.secret);
	else if (k == QUOTE_REQUEST)
		ok = m->request.nonce_len >= VIGIL_NONCE_MIN &&
		     m->request.nonce_len <= VIGIL_NONCE_MAX &&
		     vigil_pcrsel_count(&m->request.selection) > 0;
	else if (k == RESULT)
		ok = terminated(m->result.reason, sizeof(m->result.reason));
	else if (k == DEVICE)
		ok = terminated(m->device.id, sizeof(m->device.id)) &&
		     terminated(m->device.address, sizeof(m->device.address)) &&
		     terminated(m->device.policy, sizeof(m->device.policy));
	else if (k == POLICY_REF)
		ok = terminated(m->policy_ref.policy, sizeof(m->policy_ref.policy));
	else
		ok = terminated(m->error.error, sizeof(m->error.error)) &&
		     terminated(m->error.detail, sizeof(m->error.detail));
	if (!ok)
		abort();
}

/* The operator's device as verifierd would store it, then listed. */
static void device_status(const struct vigil_msg_device *m)
{
	static struct vigil_device d;
	struct json_object *o = NULL;
	char *text = NULL;

	memset(&d, 0, sizeof(d));
	memcpy(d.id, m->id, sizeof(d.id));
	d.mode = m->mode;
	memcpy(d.address, m->address, sizeof(d.address));
	memcpy(d.policy, m->policy, sizeof(d.policy));
	d.interval_ms = m->interval_ms;
	if (vigil_msg_device_status_format(&d, NULL, 0, &text) < 0 ||
	    vigil_json_parse(text, strlen(text), VIGIL_PROTO_SMALL_MAX, &o) < 0)
		abort();
	json_object_put(o);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union msg first, again;
	char *text = NULL, *text2 = NULL;
	enum kind k;
	int r;

	if (size < 1)
		return 0;
	k = (enum kind)(data[0] % KINDS);
	r = parse(k, (const char *)data + 1, size - 1, &first);
	if (r != 0 && r != -EINVAL && r != -EFBIG && r != -ENOMEM)
		abort();
	if (r != 0)
		return 0;
	check_bounds(k, &first);
	if (format(k, &first, &text) < 0 || parse(k, text, strlen(text), &again) < 0 ||
	    !equal(k, &first, &again) || format(k, &again, &text2) < 0 || strcmp(text, text2))
		abort();
	if (k == DEVICE)
		device_status(&first.device);
	free(text);
	free(text2);
	return 0;
}
