// SPDX-License-Identifier: MIT
/*
 * proto.c: the JSON bodies of the fleet protocol (proto.h, docs/fleet-protocol.md): strict
 * parsers for what `vigil agent`, `vigil verifierd` and `vigil fleet` receive, and the writers
 * of what they send.
 *
 * Every parser reads untrusted input. The body goes through vigil_json_parse() bounded by
 * VIGIL_PROTO_SMALL_MAX (depth, member count, duplicate names, UTF-8), its root must be an
 * object, and every member the message knows is checked for its JSON type, its size and its
 * range; unknown members are ignored. Strings are valid UTF-8 without NUL (json-c lets an
 * escaped "\u0000" through). Numbers are JSON integers (no fraction, no exponent, no sign).
 * Base64 is vigil_base64_decode()'s canonical form, bounded before it is decoded; marshalled
 * TPM structures unmarshal with tss2-mu and must use every byte (TPM2B_PUBLIC also re-marshals
 * to the same bytes: vigil_ak_public_parse()); only their structure is checked here, what an EK
 * or AK must be is the caller's business (enroll.c, vigil_ak_public_check()).
 *
 * Errors: -EINVAL for anything missing or malformed, -EFBIG for a body or member that is too
 * large, -ENOMEM. Invariants: a parser fills a message on its own stack and copies it out only
 * when every check passed; a writer checks its message with the same rules the parser applies,
 * so whatever it writes parses back to an equal message (tests/unit/test_proto.c,
 * tests/fuzz/fuzz_proto.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "cleanup.h"
#include "policy.h"
#include "proto.h"

#define FROM_MAX (UINT64_C(1) << 53) /* JSON numbers are exact up to 2^53 */
#define INTERVAL_MIN 100
#define INTERVAL_MAX 86400000 /* a day */
#define INTERVAL_DEFAULT 2000
#define NEXT_MAX 86400000
#define PCRS_MAX 511 /* vigil_pcrsel_parse() takes at most 511 characters */
#define VERDICT_MAX (16u << 20) /* a stored verdict embedded in a device status */

static const char *const mode_names[] = {
	[VIGIL_MODE_PUSH] = "push",
	[VIGIL_MODE_PULL] = "pull",
};

/* ---- reading members ---- */

/* The body as a JSON object; vigil_json_parse()'s errors other than -EFBIG and -ENOMEM all
 * mean "malformed". */
static int parse_object(const char *text, size_t len, struct json_object **ret)
{
	struct json_object *root = NULL;
	int r = vigil_json_parse(text, len, VIGIL_PROTO_SMALL_MAX, &root);

	if (r == -EFBIG || r == -ENOMEM)
		return r;
	if (r < 0)
		return -EINVAL;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EINVAL;
	}
	*ret = root;
	return 0;
}

/* A required member that is absent is malformed. */
static int required(int r)
{
	return r == -ENOENT ? -EINVAL : r;
}

/* Member @key of @obj of JSON type @type: -ENOENT when absent, -EINVAL when of another type. */
static int member(struct json_object *obj, const char *key, json_type type,
		  struct json_object **ret)
{
	struct json_object *m = NULL;

	if (!json_object_object_get_ex(obj, key, &m))
		return -ENOENT;
	if (!json_object_is_type(m, type))
		return -EINVAL;
	*ret = m;
	return 0;
}

/* A string member of at most @max bytes of UTF-8 without NUL. */
static int string_member(struct json_object *obj, const char *key, size_t max, const char **ret,
			 size_t *ret_len)
{
	struct json_object *m = NULL;
	int r = member(obj, key, json_type_string, &m);
	int len;

	if (r < 0)
		return r;
	len = json_object_get_string_len(m);
	if (len < 0)
		return -EINVAL;
	if ((size_t)len > max)
		return -EFBIG;
	if (!vigil_utf8_valid(json_object_get_string(m), (size_t)len))
		return -EINVAL;
	*ret = json_object_get_string(m);
	*ret_len = (size_t)len;
	return 0;
}

/* A string member copied into @buf of @size bytes (its NUL included). */
static int copy_member(struct json_object *obj, const char *key, char *buf, size_t size)
{
	const char *s = NULL;
	size_t len = 0;
	int r = string_member(obj, key, size - 1, &s, &len);

	if (r < 0)
		return r;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/* An integer member in @min..@max: no sign, no fraction, no exponent. */
static int uint_member(struct json_object *obj, const char *key, uint64_t min, uint64_t max,
		       uint64_t *ret)
{
	struct json_object *m = NULL;
	int r = member(obj, key, json_type_int, &m);
	uint64_t v;

	if (r < 0)
		return r;
	if (json_object_get_int64(m) < 0)
		return -EINVAL;
	v = json_object_get_uint64(m);
	if (v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A required base64 member decoding to 1..@max bytes; more than @max is -EFBIG. */
static int b64_member(struct json_object *obj, const char *key, size_t max, uint8_t **ret,
		      size_t *ret_len)
{
	const char *s = NULL;
	uint8_t *out = NULL;
	size_t len = 0, n = 0;
	int r = string_member(obj, key, VIGIL_PROTO_SMALL_MAX, &s, &len);

	if (r < 0)
		return required(r);
	r = vigil_base64_decode(s, len, max, &out, &n);
	if (r == -EFBIG || r == -ENOMEM)
		return r;
	if (r < 0)
		return -EINVAL;
	if (n == 0) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

/* A marshalled TPM2B_PUBLIC: structure only, canonical, no trailing bytes. */
static int public_member(struct json_object *obj, const char *key, TPM2B_PUBLIC *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r = b64_member(obj, key, sizeof(TPM2B_PUBLIC), &buf, &len);

	if (r < 0)
		return r;
	return vigil_ak_public_parse(buf, len, ret) < 0 ? -EINVAL : 0;
}

static int id_object_member(struct json_object *obj, const char *key, TPM2B_ID_OBJECT *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	TPM2B_ID_OBJECT v = { 0 };
	size_t len = 0, off = 0;
	int r = b64_member(obj, key, sizeof(v), &buf, &len);

	if (r < 0)
		return r;
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, &off, &v) != TSS2_RC_SUCCESS ||
	    off != len || v.size == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int encrypted_secret_member(struct json_object *obj, const char *key,
				   TPM2B_ENCRYPTED_SECRET *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	TPM2B_ENCRYPTED_SECRET v = { 0 };
	size_t len = 0, off = 0;
	int r = b64_member(obj, key, sizeof(v), &buf, &len);

	if (r < 0)
		return r;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, &off, &v) != TSS2_RC_SUCCESS ||
	    off != len || v.size == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* ---- value rules shared by parsers and writers ---- */

/* vigil_device_state_name() says "unknown" for a value out of range; writers refuse it. */
static const char *state_name(enum vigil_device_state s)
{
	return (unsigned int)s > VIGIL_DEVICE_MISSED ? NULL : vigil_device_state_name(s);
}

/* Reason and error codes: vigil's reason names, [a-z0-9_], 1..47 bytes. */
static bool code_valid(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == 0 || len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* A port in canonical decimal, 1..65535. */
static bool port_valid(const char *p)
{
	unsigned long v = 0;
	size_t n = strlen(p);

	if (n == 0 || n > 5 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v <= 65535;
}

/* "host:port": a host name or IPv4 address ([A-Za-z0-9.-]+), or "[IPv6]:port". */
static bool address_valid(const char *a)
{
	const char *colon;

	if (a[0] == '[') {
		const char *end = strchr(a, ']');
		char v6[INET6_ADDRSTRLEN];
		struct in6_addr in6;
		size_t n = end ? (size_t)(end - a - 1) : 0;

		if (!end || end[1] != ':' || n == 0 || n >= sizeof(v6))
			return false;
		memcpy(v6, a + 1, n);
		v6[n] = '\0';
		return inet_pton(AF_INET6, v6, &in6) == 1 && port_valid(end + 2);
	}
	colon = strchr(a, ':');
	if (!colon || colon == a)
		return false;
	for (const char *p = a; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	return port_valid(colon + 1);
}

/* What a parsed device description satisfies and a written one must. */
static int device_check(const struct vigil_msg_device *m)
{
	size_t plen = strnlen(m->policy, sizeof(m->policy));

	if (m->mode != VIGIL_MODE_PUSH && m->mode != VIGIL_MODE_PULL)
		return -EINVAL;
	if (strnlen(m->id, sizeof(m->id)) == sizeof(m->id) || !vigil_device_id_valid(m->id))
		return -EINVAL;
	if (strnlen(m->address, sizeof(m->address)) == sizeof(m->address))
		return -EINVAL;
	if (m->mode == VIGIL_MODE_PULL && !address_valid(m->address))
		return -EINVAL;
	if (m->mode == VIGIL_MODE_PUSH && m->address[0])
		return -EINVAL;
	if (plen == sizeof(m->policy) || (plen && !vigil_policy_name_valid(m->policy, plen)))
		return -EINVAL;
	if (m->interval_ms < INTERVAL_MIN || m->interval_ms > INTERVAL_MAX)
		return -EINVAL;
	return 0;
}

/* A selection whose canonical spelling vigil_pcrsel_parse() reads back. */
static int selection_format(const TPML_PCR_SELECTION *sel, char buf[PCRS_MAX + 1])
{
	return vigil_pcrsel_format(sel, buf, PCRS_MAX + 1) < 0 || !buf[0] ? -EINVAL : 0;
}

static int quote_request_check(const struct vigil_msg_quote_request *m)
{
	char sel[PCRS_MAX + 1];

	if (m->nonce_len < VIGIL_NONCE_MIN || m->nonce_len > VIGIL_NONCE_MAX ||
	    m->from > FROM_MAX || m->interval_ms < INTERVAL_MIN || m->interval_ms > INTERVAL_MAX)
		return -EINVAL;
	return selection_format(&m->selection, sel);
}

/* ---- parsers ---- */

static int parse_identity(struct json_object *root, struct vigil_msg_identity *m)
{
	_cleanup_free_ uint8_t *cert = NULL;
	size_t len = 0;
	int r;

	r = public_member(root, "ek_public", &m->ek);
	if (r == 0)
		r = b64_member(root, "ek_cert", sizeof(m->ek_cert), &cert, &len);
	if (r < 0)
		return r;
	memcpy(m->ek_cert, cert, len);
	m->ek_cert_len = len;
	return public_member(root, "ak_public", &m->ak);
}

/**
 * vigil_msg_identity_parse() - read a device's TPM identity
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success, the identity: "ek_public", "ek_cert" (1..VIGIL_EK_CERT_MAX bytes of DER,
 *	not parsed here) and "ak_public", all base64; the public areas are checked for
 *	structure only
 *
 * Return: 0, -EINVAL (missing or malformed), -EFBIG (body or a member too large), -ENOMEM.
 */
int vigil_msg_identity_parse(const char *text, size_t len, struct vigil_msg_identity *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_identity m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = parse_identity(root, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

/**
 * vigil_msg_challenge_parse() - read MakeCredential's output
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success, "credential_blob" (a marshalled TPM2B_ID_OBJECT) and "encrypted_secret"
 *	(a marshalled TPM2B_ENCRYPTED_SECRET), both base64, non-empty, no trailing bytes
 *
 * Return: 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int vigil_msg_challenge_parse(const char *text, size_t len, struct vigil_msg_challenge *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_challenge m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = id_object_member(root, "credential_blob", &m.blob);
	if (r == 0)
		r = encrypted_secret_member(root, "encrypted_secret", &m.seed);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

/**
 * vigil_msg_secret_parse() - read an activated credential
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success, "secret": base64 of 1..32 bytes
 *
 * The decoded copy this function makes is erased; json-c's copy of the text is not ours to.
 *
 * Return: 0, -EINVAL, -EFBIG (more than 32 bytes), -ENOMEM.
 */
int vigil_msg_secret_parse(const char *text, size_t len, struct vigil_msg_secret *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_erase_free_ uint8_t *secret = NULL;
	size_t n = 0;
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = b64_member(root, "secret", sizeof(ret->secret), &secret, &n);
	if (r < 0)
		return r;
	memcpy(ret->secret, secret, n);
	ret->len = n;
	return 0;
}

static int parse_quote_request(struct json_object *root, struct vigil_msg_quote_request *m)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;
	int r;

	r = required(string_member(root, "nonce", (size_t)2 * VIGIL_NONCE_MAX, &s, &len));
	if (r < 0)
		return r;
	if (len < (size_t)2 * VIGIL_NONCE_MIN ||
	    vigil_hex_decode(s, len, m->nonce, sizeof(m->nonce), &m->nonce_len) < 0)
		return -EINVAL;
	r = required(uint_member(root, "from", 0, FROM_MAX, &m->from));
	if (r == 0)
		r = required(string_member(root, "pcrs", PCRS_MAX, &s, &len));
	if (r < 0)
		return r;
	if (vigil_pcrsel_parse(s, &m->selection) < 0)
		return -EINVAL;
	r = required(uint_member(root, "interval_ms", INTERVAL_MIN, INTERVAL_MAX, &v));
	m->interval_ms = (uint32_t)v;
	return r < 0 ? r : quote_request_check(m);
}

/**
 * vigil_msg_quote_request_parse() - read what to quote
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success: "nonce" (hex, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX bytes; longer is
 *	-EFBIG), "from" (0..2^53), "pcrs" (vigil_pcrsel_parse()), "interval_ms"
 *	(100..86400000)
 *
 * Return: 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int vigil_msg_quote_request_parse(const char *text, size_t len, struct vigil_msg_quote_request *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_quote_request m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = parse_quote_request(root, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

/**
 * vigil_device_state_parse() - the state a name (vigil_device_state_name()) stands for
 * @name: the name, e.g. "trusted"
 * @ret: on success, the state
 *
 * Return: 0, or -EINVAL if no state has that name.
 */
int vigil_device_state_parse(const char *name, enum vigil_device_state *ret)
{
	for (int s = VIGIL_DEVICE_REGISTERED; s <= VIGIL_DEVICE_MISSED; s++) {
		const char *n = vigil_device_state_name((enum vigil_device_state)s);

		if (n && strcmp(n, name) == 0) {
			*ret = (enum vigil_device_state)s;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_result(struct json_object *root, struct vigil_msg_result *m)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v = 0;
	int r;

	r = required(string_member(root, "state", VIGIL_PROTO_SMALL_MAX, &s, &len));
	if (r == 0)
		r = vigil_device_state_parse(s, &m->state);
	if (r == 0)
		r = required(copy_member(root, "reason", m->reason, sizeof(m->reason)));
	if (r == 0 && !code_valid(m->reason, sizeof(m->reason)))
		r = -EINVAL;
	if (r == 0)
		r = required(uint_member(root, "next_ms", 0, NEXT_MAX, &v));
	m->next_ms = (uint32_t)v;
	return r;
}

/**
 * vigil_msg_result_parse() - read verifierd's answer to evidence
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success: "state" (a vigil_device_state_name()), "reason" (a reason name,
 *	[a-z0-9_], 1..47 bytes), "next_ms" (0..86400000)
 *
 * Return: 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int vigil_msg_result_parse(const char *text, size_t len, struct vigil_msg_result *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_result m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = parse_result(root, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

static int parse_mode(struct json_object *root, enum vigil_device_mode *ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = required(string_member(root, "mode", VIGIL_PROTO_SMALL_MAX, &s, &len));

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum vigil_device_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Optional members: absent "address" and "policy" are "", absent "interval_ms" the default. */
static int parse_device(struct json_object *root, struct vigil_msg_device *m)
{
	uint64_t v = INTERVAL_DEFAULT;
	int r;

	r = required(copy_member(root, "id", m->id, sizeof(m->id)));
	if (r == 0)
		r = parse_mode(root, &m->mode);
	if (r == 0)
		r = copy_member(root, "address", m->address, sizeof(m->address));
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = copy_member(root, "policy", m->policy, sizeof(m->policy));
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = uint_member(root, "interval_ms", INTERVAL_MIN, INTERVAL_MAX, &v);
	if (r == -ENOENT)
		r = 0;
	m->interval_ms = (uint32_t)v;
	return r < 0 ? r : device_check(m);
}

/**
 * vigil_msg_device_parse() - read the operator's description of a device
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success: "id" (vigil_device_id_valid()), "mode" ("push" or "pull"), "address"
 *	(required for pull: "host:port" with host [A-Za-z0-9.-]+ or "[IPv6]", port 1..65535;
 *	absent or "" for push), "policy" (optional: a policy name, [A-Za-z0-9._-], 1..128
 *	bytes; absent or "" for none), "interval_ms" (optional, 100..86400000, default 2000)
 *
 * Return: 0, -EINVAL, -EFBIG (a string longer than its field), -ENOMEM.
 */
int vigil_msg_device_parse(const char *text, size_t len, struct vigil_msg_device *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_device m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = parse_device(root, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

/**
 * vigil_msg_error_parse() - read an error reply
 * @text: the body; need not be NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success: "error" (a reason code, [a-z0-9_], 1..47 bytes), "detail" (optional,
 *	UTF-8, at most 255 bytes, "" when absent)
 *
 * Return: 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int vigil_msg_error_parse(const char *text, size_t len, struct vigil_msg_error *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_error m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = required(copy_member(root, "error", m.error, sizeof(m.error)));
	if (r == 0 && !code_valid(m.error, sizeof(m.error)))
		r = -EINVAL;
	if (r == 0)
		r = copy_member(root, "detail", m.detail, sizeof(m.detail));
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = m;
	return 0;
}

static bool policy_ref_valid(const char *name)
{
	size_t len = strlen(name);

	return len == 0 || vigil_policy_name_valid(name, len);
}

/**
 * vigil_msg_policy_ref_parse() - read the policy a device is to be verified against
 * @text: the body (untrusted), not necessarily NUL-terminated
 * @len: its length, at most VIGIL_PROTO_SMALL_MAX
 * @ret: on success: "policy", a policy name ([A-Za-z0-9._-], 1..128) or "" for none
 *
 * Return: 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int vigil_msg_policy_ref_parse(const char *text, size_t len, struct vigil_msg_policy_ref *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_msg_policy_ref m = { 0 };
	int r = parse_object(text, len, &root);

	if (r == 0)
		r = required(copy_member(root, "policy", m.policy, sizeof(m.policy)));
	if (r == 0 && !policy_ref_valid(m.policy))
		r = -EINVAL;
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

/* ---- writers ---- */

static int add_b64(struct json_object *obj, const char *key, const uint8_t *buf, size_t len)
{
	_cleanup_free_ char *s = NULL;
	int r = vigil_base64_encode(buf, len, &s);

	return r < 0 ? r : vigil_json_add(obj, key, json_object_new_string(s));
}

static int add_hex(struct json_object *obj, const char *key, const uint8_t *buf, size_t len)
{
	char hex[2 * VIGIL_NONCE_MAX + 1];

	if (vigil_hex_encode(buf, len, hex, sizeof(hex)) < 0)
		return -EINVAL;
	return vigil_json_add(obj, key, json_object_new_string(hex));
}

static int add_public(struct json_object *obj, const char *key, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
		return -EINVAL;
	return add_b64(obj, key, buf, len);
}

static int add_string(struct json_object *obj, const char *key, const char *s)
{
	return vigil_json_add(obj, key, json_object_new_string(s));
}

static int add_uint(struct json_object *obj, const char *key, uint64_t v)
{
	return vigil_json_add(obj, key, json_object_new_uint64(v));
}

/* Format @root, built by @build from @m, into *@ret. */
static int format_with(int (*build)(struct json_object *, const void *), const void *m, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	int r;

	if (!root)
		return -ENOMEM;
	r = build(root, m);
	return r < 0 ? r : vigil_json_format_compact(root, ret);
}

static int build_identity(struct json_object *root, const void *p)
{
	const struct vigil_msg_identity *m = p;
	int r;

	if (m->ek_cert_len == 0 || m->ek_cert_len > sizeof(m->ek_cert))
		return -EINVAL;
	r = add_public(root, "ek_public", &m->ek);
	if (r == 0)
		r = add_b64(root, "ek_cert", m->ek_cert, m->ek_cert_len);
	if (r == 0)
		r = add_public(root, "ak_public", &m->ak);
	return r;
}

/**
 * vigil_msg_identity_format() - write a device's TPM identity
 * @m: the identity; @m->ek_cert_len 1..VIGIL_EK_CERT_MAX
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL (@m out of bounds), -ENOMEM.
 */
int vigil_msg_identity_format(const struct vigil_msg_identity *m, char **ret)
{
	return format_with(build_identity, m, ret);
}

static int build_challenge(struct json_object *root, const void *p)
{
	const struct vigil_msg_challenge *m = p;
	uint8_t blob[sizeof(TPM2B_ID_OBJECT)], seed[sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t blen = 0, slen = 0;
	int r;

	if (m->blob.size == 0 || m->seed.size == 0 ||
	    Tss2_MU_TPM2B_ID_OBJECT_Marshal(&m->blob, blob, sizeof(blob), &blen) ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&m->seed, seed, sizeof(seed), &slen))
		return -EINVAL;
	r = add_b64(root, "credential_blob", blob, blen);
	if (r == 0)
		r = add_b64(root, "encrypted_secret", seed, slen);
	return r;
}

/**
 * vigil_msg_challenge_format() - write MakeCredential's output
 * @m: the credential blob and encrypted seed, both non-empty
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int vigil_msg_challenge_format(const struct vigil_msg_challenge *m, char **ret)
{
	return format_with(build_challenge, m, ret);
}

/**
 * vigil_msg_secret_format() - write an activated credential
 * @m: the secret, 1..32 bytes
 * @ret: on success, the JSON text; erase and free() it
 *
 * Written without json-c, whose copies of the secret could not be erased; base64 needs no
 * JSON escaping.
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int vigil_msg_secret_format(const struct vigil_msg_secret *m, char **ret)
{
	_cleanup_erase_free_ char *b64 = NULL;
	int r;

	if (m->len == 0 || m->len > sizeof(m->secret))
		return -EINVAL;
	r = vigil_base64_encode(m->secret, m->len, &b64);
	if (r < 0)
		return r;
	return asprintf(ret, "{\n  \"secret\": \"%s\"\n}\n", b64) < 0 ? -ENOMEM : 0;
}

static int build_quote_request(struct json_object *root, const void *p)
{
	const struct vigil_msg_quote_request *m = p;
	char sel[PCRS_MAX + 1];
	int r = quote_request_check(m);

	if (r == 0)
		r = add_hex(root, "nonce", m->nonce, m->nonce_len);
	if (r == 0)
		r = add_uint(root, "from", m->from);
	if (r == 0)
		r = selection_format(&m->selection, sel);
	if (r == 0)
		r = add_string(root, "pcrs", sel);
	if (r == 0)
		r = add_uint(root, "interval_ms", m->interval_ms);
	return r;
}

/**
 * vigil_msg_quote_request_format() - write what to quote
 * @m: the request, within the bounds vigil_msg_quote_request_parse() checks
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int vigil_msg_quote_request_format(const struct vigil_msg_quote_request *m, char **ret)
{
	return format_with(build_quote_request, m, ret);
}

static int build_result(struct json_object *root, const void *p)
{
	const struct vigil_msg_result *m = p;
	const char *state = state_name(m->state);
	int r;

	if (!state || !code_valid(m->reason, sizeof(m->reason)) || m->next_ms > NEXT_MAX)
		return -EINVAL;
	r = add_string(root, "state", state);
	if (r == 0)
		r = add_string(root, "reason", m->reason);
	if (r == 0)
		r = add_uint(root, "next_ms", m->next_ms);
	return r;
}

/**
 * vigil_msg_result_format() - write verifierd's answer to evidence
 * @m: the answer, within the bounds vigil_msg_result_parse() checks
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int vigil_msg_result_format(const struct vigil_msg_result *m, char **ret)
{
	return format_with(build_result, m, ret);
}

static int build_device(struct json_object *root, const void *p)
{
	const struct vigil_msg_device *m = p;
	int r = device_check(m);

	if (r == 0)
		r = add_string(root, "id", m->id);
	if (r == 0)
		r = add_string(root, "mode", mode_names[m->mode]);
	if (r == 0 && m->address[0])
		r = add_string(root, "address", m->address);
	if (r == 0 && m->policy[0])
		r = add_string(root, "policy", m->policy);
	if (r == 0)
		r = add_uint(root, "interval_ms", m->interval_ms);
	return r;
}

/**
 * vigil_msg_device_format() - write the operator's description of a device
 * @m: the description, valid as vigil_msg_device_parse() checks it; "address" and "policy"
 *	are left out when empty
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int vigil_msg_device_format(const struct vigil_msg_device *m, char **ret)
{
	return format_with(build_device, m, ret);
}

/* @s cut to at most @size - 1 bytes on a character boundary, every byte that does not start
 * a valid UTF-8 sequence, and every control character, replaced by '?'. */
static void sanitize(const char *s, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), len = 0;

	for (size_t i = 0; i < n;) {
		size_t seq = u[i] < 0x80 ? 1 : vigil_utf8_seq(u + i, n - i);

		if (len + (seq ? seq : 1) >= size)
			break;
		if (seq <= 1) {
			char c = s[i];

			if (!seq || u[i] < 0x20 || u[i] == 0x7f)
				c = '?';
			out[len++] = c;
			i++;
			continue;
		}
		memcpy(out + len, s + i, seq);
		len += seq;
		i += seq;
	}
	out[len] = '\0';
}

/**
 * vigil_msg_policy_ref_format() - write what vigil_msg_policy_ref_parse() reads
 * @m: the message (a valid policy name, or "")
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL (not a policy name), -ENOMEM.
 */
int vigil_msg_policy_ref_format(const struct vigil_msg_policy_ref *m, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	int r;

	if (!root)
		return -ENOMEM;
	if (!memchr(m->policy, 0, sizeof(m->policy)) || !policy_ref_valid(m->policy))
		return -EINVAL;
	r = vigil_json_add(root, "policy", json_object_new_string(m->policy));
	return r < 0 ? r : vigil_json_format_compact(root, ret);
}

/**
 * vigil_msg_error_format() - write an error reply
 * @error: the reason code, [a-z0-9_], 1..47 bytes
 * @detail: a text for people, or NULL; cut to 255 bytes, with invalid UTF-8 and control
 *	characters replaced by '?', so any text can be passed
 * @ret: on success, the JSON text; free() it
 *
 * Return: 0, -EINVAL (@error is not a code), -ENOMEM.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the code, then its text (proto.h) */
int vigil_msg_error_format(const char *error, const char *detail, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	struct vigil_msg_error m;
	int r;

	if (!root)
		return -ENOMEM;
	if (!code_valid(error, sizeof(m.error)))
		return -EINVAL;
	sanitize(detail ? detail : "", m.detail, sizeof(m.detail));
	r = add_string(root, "error", error);
	if (r == 0)
		r = add_string(root, "detail", m.detail);
	return r < 0 ? r : vigil_json_format_compact(root, ret);
}

/* ---- device status (GET /v1/devices[/ID]) ---- */

/* A string of the store, which may hold bytes that are not UTF-8. */
static int add_text(struct json_object *obj, const char *key, const char *buf, size_t size)
{
	if (!memchr(buf, '\0', size))
		return -EINVAL;
	return vigil_json_add(obj, key, vigil_json_text(buf));
}

static struct json_object *cursor_json(const struct vigil_cursor *c)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0)
		r = add_uint(o, "next", c->next);
	if (r == 0)
		r = add_uint(o, "reset_count", c->clock.reset_count);
	if (r == 0)
		r = add_uint(o, "restart_count", c->clock.restart_count);
	if (r == 0)
		r = add_uint(o, "clock", c->clock.clock);
	if (r == 0)
		r = vigil_json_add(o, "valid", json_object_new_boolean(c->valid));
	return r == 0 ? TAKE_PTR(o) : NULL;
}

/* "ek_hash", "ek_cert_fingerprint", "ak_keyid" of an enrolled device. */
static int add_enrollment(struct json_object *o, const struct vigil_device *d)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	uint8_t keyid[VIGIL_AK_KEYID_SIZE];
	TPM2B_PUBLIC ak;
	int r;

	if (!d->enrolled)
		return 0;
	if (d->ak_public_len > sizeof(d->ak_public) ||
	    vigil_ak_public_parse(d->ak_public, d->ak_public_len, &ak) < 0)
		return -EINVAL;
	r = vigil_ak_to_pkey(&ak.publicArea, &pkey);
	if (r == 0)
		r = vigil_ak_keyid(pkey, keyid);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	r = add_hex(o, "ek_hash", d->ek_hash, sizeof(d->ek_hash));
	if (r == 0)
		r = add_hex(o, "ek_cert_fingerprint", d->ek_cert_fingerprint,
			    sizeof(d->ek_cert_fingerprint));
	if (r == 0)
		r = add_hex(o, "ak_keyid", keyid, sizeof(keyid));
	return r;
}

static int add_verdict(struct json_object *o, const char *verdict)
{
	struct json_object *v = NULL;
	int r;

	if (!verdict)
		return json_object_object_add(o, "verdict", NULL) < 0 ? -ENOMEM : 0;
	r = vigil_json_parse(verdict, strlen(verdict), VERDICT_MAX, &v);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	return vigil_json_add(o, "verdict", v);
}

static int attestation_json(const struct vigil_attestation *a, struct json_object *o)
{
	const char *state = state_name(a->state);
	int r = add_uint(o, "seq", a->seq);

	if (r == 0)
		r = vigil_json_add(o, "time_ms", json_object_new_int64(a->time_ms));
	if (r == 0)
		r = state ? add_string(o, "state", state) : -EINVAL;
	if (r == 0)
		r = add_text(o, "reason", a->reason, sizeof(a->reason));
	if (r == 0)
		r = add_uint(o, "from", a->from);
	if (r == 0)
		r = add_uint(o, "to", a->to);
	if (r == 0)
		r = add_verdict(o, a->verdict);
	return r;
}

static int add_history(struct json_object *o, const struct vigil_attestation *history, size_t count)
{
	struct json_object *list = json_object_new_array();
	int r = vigil_json_add(o, "history", list);

	for (size_t i = 0; r == 0 && i < count; i++) {
		struct json_object *a = json_object_new_object();

		if (!a || json_object_array_add(list, a) < 0) {
			json_object_put(a);
			return -ENOMEM;
		}
		r = attestation_json(&history[i], a);
	}
	return r;
}

static int add_configuration(struct json_object *o, const struct vigil_device *d)
{
	const char *state = state_name(d->state);
	int r;

	if (!state || (d->mode != VIGIL_MODE_PUSH && d->mode != VIGIL_MODE_PULL))
		return -EINVAL;
	r = add_text(o, "id", d->id, sizeof(d->id));
	if (r == 0)
		r = add_string(o, "mode", mode_names[d->mode]);
	if (r == 0)
		r = add_text(o, "address", d->address, sizeof(d->address));
	if (r == 0)
		r = add_text(o, "policy", d->policy, sizeof(d->policy));
	if (r == 0)
		r = add_uint(o, "interval_ms", d->interval_ms);
	if (r == 0)
		r = add_string(o, "state", state);
	if (r == 0)
		r = vigil_json_add(o, "enrolled", json_object_new_boolean(d->enrolled));
	return r;
}

static int add_progress(struct json_object *o, const struct vigil_device *d)
{
	int r = vigil_json_add(o, "cursor", cursor_json(&d->cursor));

	if (r == 0)
		r = add_uint(o, "policy_version", d->policy_version);
	if (r == 0)
		r = add_uint(o, "seq", d->seq);
	if (r == 0)
		r = vigil_json_add(o, "due_ms", json_object_new_int64(d->due_ms));
	if (r == 0)
		r = vigil_json_add(o, "last_ms", json_object_new_int64(d->last_ms));
	if (r == 0)
		r = add_text(o, "last_reason", d->last_reason, sizeof(d->last_reason));
	if (r == 0)
		r = add_uint(o, "failures", d->failures);
	return r;
}

/**
 * vigil_msg_device_status_format() - a device as `vigil fleet list/show` gets it
 * @d: the device as stored
 * @history: its last attestations (vigil_store_history(), newest first), or NULL
 * @count: entries in @history
 * @ret: on success, the JSON text; free() it
 *
 * One object with the members: "id", "mode" ("push"|"pull"), "address" ("" in push mode),
 * "policy" ("" for none), "interval_ms", "state" (vigil_device_state_name()), "enrolled"
 * (bool); when enrolled also "ek_hash" (hex SHA-256 of the EK public area),
 * "ek_cert_fingerprint" (hex SHA-256 of the EK certificate) and "ak_keyid" (hex
 * vigil_ak_keyid() of the AK, as in verdicts); then "cursor" {"next", "reset_count",
 * "restart_count", "clock", "valid" (bool)}, "policy_version", "seq", "due_ms", "last_ms"
 * (ms since the epoch, 0: never), "last_reason" ("" before the first verdict), "failures";
 * and, when @history is not NULL, "history": an array of {"seq", "time_ms", "state",
 * "reason", "from", "to", "verdict" (the verdict object, null for a missed attestation)}.
 *
 * Return: 0, -EINVAL (@d or @history inconsistent: an unknown state or mode, an unterminated
 * string, an AK that does not parse, a verdict that is not JSON), -ENOMEM.
 */
int vigil_msg_device_status_format(const struct vigil_device *d,
				   const struct vigil_attestation *history, size_t count,
				   char **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	int r;

	if (!root)
		return -ENOMEM;
	r = add_configuration(root, d);
	if (r == 0)
		r = add_enrollment(root, d);
	if (r == 0)
		r = add_progress(root, d);
	if (r == 0 && history)
		r = add_history(root, history, count);
	return r < 0 ? r : vigil_json_format_compact(root, ret);
}
