// SPDX-License-Identifier: MIT
/*
 * evidence.c: the evidence document `vigil quote` writes and `vigil verify` reads
 * (docs/evidence-format.md).
 *
 * The document is JSON; the TPM structures inside are base64 of exactly the bytes tpm2_quote
 * writes (-m: TPMS_ATTEST, -s: TPMT_SIGNATURE) and tpm2_createak -u writes (TPM2B_PUBLIC), so
 * they can be handed to tpm2-tools unchanged. Parsing is strict: bounded size and depth, no
 * duplicate member names (json.c), every known member of the right JSON type and within its
 * bounds; unknown members are ignored so later versions can add some. Nothing here is trusted:
 * the verifier checks the quote's signature and digests; the parser only guarantees shape.
 *
 * Invariants: a parsed evidence has a nonce of VIGIL_NONCE_MIN..VIGIL_NONCE_MAX bytes, non-empty
 * attest and signature blobs within their structures' sizes, a checked PCR selection with
 * exactly one value per selected PCR, and an AK public area that unmarshals strictly.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"

/* A member of @obj of JSON type @type, or NULL (missing or of another type). */
static struct json_object *member(struct json_object *obj, const char *key, json_type type)
{
	struct json_object *m = NULL;

	if (!obj || !json_object_object_get_ex(obj, key, &m) || !json_object_is_type(m, type))
		return NULL;
	return m;
}

static const char *string_member(struct json_object *obj, const char *key, size_t *ret_len)
{
	struct json_object *m = member(obj, key, json_type_string);
	int len;

	if (!m)
		return NULL;
	len = json_object_get_string_len(m);
	*ret_len = len > 0 ? (size_t)len : 0;
	return json_object_get_string(m);
}

/* A non-negative integer member no larger than @max. */
static int uint_member(struct json_object *obj, const char *key, uint64_t max, uint64_t *ret)
{
	struct json_object *m = member(obj, key, json_type_int);
	uint64_t v;

	if (!m)
		return -EBADMSG;
	errno = 0;
	if (json_object_get_int64(m) < 0)
		return -EBADMSG;
	v = json_object_get_uint64(m);
	if (errno || v > max)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int b64_member(struct json_object *obj, const char *key, size_t max, uint8_t **ret,
		      size_t *ret_len)
{
	size_t len;
	const char *s = string_member(obj, key, &len);

	if (!s)
		return -EBADMSG;
	return vigil_base64_decode(s, len, max, ret, ret_len) < 0 ? -EBADMSG : 0;
}

/* An optional string member: absent is fine, present must be a string of at most 255 bytes. */
static int opt_string(struct json_object *obj, const char *key, char **ret)
{
	struct json_object *m = NULL;
	size_t len;
	const char *s;

	if (!obj || !json_object_object_get_ex(obj, key, &m))
		return 0;
	s = string_member(obj, key, &len);
	if (!s || len > 255 || memchr(s, '\0', len))
		return -EBADMSG;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int parse_nonce(struct json_object *root, struct vigil_evidence *ev)
{
	size_t len;
	const char *s = string_member(root, "nonce", &len);

	if (!s || len < 2 * (size_t)VIGIL_NONCE_MIN || len > 2 * (size_t)VIGIL_NONCE_MAX)
		return -EBADMSG;
	return vigil_hex_decode(s, len, ev->nonce, sizeof(ev->nonce), &ev->nonce_len) < 0 ?
		       -EBADMSG :
		       0;
}

static int parse_quote(struct json_object *root, struct vigil_evidence *ev)
{
	struct json_object *q = member(root, "quote", json_type_object);
	size_t len;
	const char *sel;
	int r;

	if (!q)
		return -EBADMSG;
	r = b64_member(q, "attest", VIGIL_ATTEST_MAX, &ev->attest, &ev->attest_len);
	if (r == 0)
		r = b64_member(q, "signature", VIGIL_SIG_MAX, &ev->sig, &ev->sig_len);
	if (r < 0 || !ev->attest_len || !ev->sig_len)
		return -EBADMSG;
	sel = string_member(q, "pcr_selection", &len);
	if (!sel || vigil_pcrsel_parse(sel, &ev->selection) < 0)
		return -EBADMSG;
	return 0;
}

/* "11": "<hex>"; PCR numbers in canonical decimal only, so no two keys name one PCR. */
static int parse_pcr_value(struct vigil_evidence *ev, uint16_t alg, const char *key,
			   struct json_object *val)
{
	uint8_t digest[64];
	size_t dlen = 0;
	char *end;
	unsigned long pcr;
	const char *hex;

	if (!json_object_is_type(val, json_type_string) || key[0] < '0' || key[0] > '9' ||
	    (key[0] == '0' && key[1]))
		return -EBADMSG;
	pcr = strtoul(key, &end, 10);
	hex = json_object_get_string(val);
	if (*end || pcr >= 24 || !vigil_pcrsel_has(&ev->selection, alg, (uint32_t)pcr) ||
	    vigil_hex_decode(hex, strlen(hex), digest, sizeof(digest), &dlen) < 0)
		return -EBADMSG;
	return vigil_pcr_values_add(&ev->pcrs, alg, (uint32_t)pcr, digest, dlen) < 0 ? -EBADMSG : 0;
}

static int parse_pcrs(struct json_object *root, struct vigil_evidence *ev)
{
	struct json_object *pcrs = member(root, "pcrs", json_type_object);

	if (!pcrs)
		return -EBADMSG;
	json_object_object_foreach(pcrs, bank, values)
	{
		uint16_t alg;

		if (vigil_hash_from_name(bank, &alg) < 0 ||
		    !json_object_is_type(values, json_type_object))
			return -EBADMSG;
		json_object_object_foreach(values, key, val)
		{
			int r = parse_pcr_value(ev, alg, key, val);

			if (r < 0)
				return r;
		}
	}
	/* values only for selected PCRs (checked above), so equal counts mean all are there */
	return ev->pcrs.count == vigil_pcrsel_count(&ev->selection) ? 0 : -EBADMSG;
}

/* The public area must have a name (a supported nameAlg); "name", if given, must be it. */
static int check_name(struct json_object *ak, const TPM2B_PUBLIC *pub)
{
	uint8_t given[sizeof(TPMU_NAME)];
	TPM2B_NAME name;
	size_t len = 0, glen = 0;
	const char *hex;

	if (vigil_ak_name(&pub->publicArea, &name) < 0)
		return -EBADMSG;
	if (!json_object_object_get_ex(ak, "name", NULL))
		return 0;
	hex = string_member(ak, "name", &len);
	if (!hex || vigil_hex_decode(hex, len, given, sizeof(given), &glen) < 0 ||
	    glen != name.size || memcmp(given, name.name, glen) != 0)
		return -EBADMSG;
	return 0;
}

static int parse_ak(struct json_object *root, struct vigil_evidence *ev)
{
	struct json_object *ak = member(root, "ak", json_type_object);
	_cleanup_free_ uint8_t *pub = NULL;
	uint64_t handle = 0;
	size_t len;
	int r;

	if (!ak)
		return -EBADMSG;
	r = b64_member(ak, "public", sizeof(TPM2B_PUBLIC), &pub, &len);
	if (r < 0 || vigil_ak_public_parse(pub, len, &ev->ak_public) < 0)
		return -EBADMSG;
	r = check_name(ak, &ev->ak_public);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(ak, "handle", NULL) &&
	    uint_member(ak, "handle", UINT32_MAX, &handle) < 0)
		return -EBADMSG;
	ev->ak_handle = (uint32_t)handle;
	return 0;
}

static int parse_log(struct json_object *root, struct vigil_evidence *ev)
{
	struct json_object *log = NULL;
	int r;

	if (!json_object_object_get_ex(root, "log", &log) ||
	    json_object_is_type(log, json_type_null))
		return 0;
	if (!json_object_is_type(log, json_type_object))
		return -EBADMSG;
	r = uint_member(log, "from", UINT32_MAX, &ev->log_from);
	if (r < 0)
		return r;
	return b64_member(log, "binary", VIGIL_EVIDENCE_LOG_MAX, &ev->log, &ev->log_len);
}

static int parse_root(struct json_object *root, struct vigil_evidence *ev)
{
	struct json_object *host = member(root, "host", json_type_object);
	uint64_t version = 0;
	int r;

	if (!json_object_is_type(root, json_type_object) ||
	    uint_member(root, "vigil_evidence", UINT32_MAX, &version) < 0 ||
	    version != VIGIL_EVIDENCE_VERSION)
		return -EBADMSG;
	r = parse_nonce(root, ev);
	if (r == 0)
		r = parse_quote(root, ev);
	if (r == 0)
		r = parse_pcrs(root, ev);
	if (r == 0)
		r = parse_ak(root, ev);
	if (r == 0)
		r = parse_log(root, ev);
	if (r == 0)
		r = opt_string(root, "created", &ev->created);
	if (r == 0)
		r = opt_string(host, "kernel", &ev->kernel);
	if (r == 0)
		r = opt_string(host, "boot_id", &ev->boot_id);
	return r;
}

/**
 * vigil_evidence_parse() - parse an evidence document
 * @text: the JSON text; need not be NUL-terminated
 * @len: its length, at most VIGIL_EVIDENCE_MAX
 * @ret: on success, the evidence; release with vigil_evidence_free()
 *
 * Return: 0; -EFBIG if @len exceeds VIGIL_EVIDENCE_MAX; -EBADMSG (or another vigil_json_parse()
 * error) if the text is not an evidence document of version 1; -ENOMEM.
 */
int vigil_evidence_parse(const char *text, size_t len, struct vigil_evidence **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct vigil_evidence *ev;
	int r;

	r = vigil_json_parse(text, len, VIGIL_EVIDENCE_MAX, &root);
	if (r < 0)
		return r;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	r = parse_root(root, ev);
	if (r < 0) {
		vigil_evidence_free(ev);
		return r == -ENOMEM ? r : -EBADMSG;
	}
	*ret = ev;
	return 0;
}

/**
 * vigil_evidence_free() - release evidence from vigil_evidence_parse()
 * @ev: the evidence, or NULL
 */
void vigil_evidence_free(struct vigil_evidence *ev)
{
	if (!ev)
		return;
	free(ev->attest);
	free(ev->sig);
	free(ev->log);
	free(ev->kernel);
	free(ev->boot_id);
	free(ev->created);
	free(ev);
}

/**
 * vigil_evidence_freep() - vigil_evidence_free() for _cleanup_ variables
 * @ev: pointer to the variable
 */
void vigil_evidence_freep(struct vigil_evidence **ev)
{
	vigil_evidence_free(*ev);
}

static int add_b64(struct json_object *obj, const char *key, const uint8_t *buf, size_t len)
{
	_cleanup_free_ char *s = NULL;
	int r = vigil_base64_encode(buf, len, &s);

	return r < 0 ? r : vigil_json_add(obj, key, json_object_new_string(s));
}

static int add_hex(struct json_object *obj, const char *key, const uint8_t *buf, size_t len)
{
	char hex[2 * sizeof(TPMU_NAME) + 1];

	if (vigil_hex_encode(buf, len, hex, sizeof(hex)) < 0)
		return -EINVAL;
	return vigil_json_add(obj, key, json_object_new_string(hex));
}

static int add_opt_string(struct json_object *obj, const char *key, const char *s)
{
	return s ? vigil_json_add(obj, key, json_object_new_string(s)) : 0;
}

static struct json_object *quote_json(const struct vigil_evidence *ev)
{
	_cleanup_(json_object_putp) struct json_object *q = json_object_new_object();
	char sel[256];
	int r = q ? 0 : -ENOMEM;

	if (r == 0)
		r = add_b64(q, "attest", ev->attest, ev->attest_len);
	if (r == 0)
		r = add_b64(q, "signature", ev->sig, ev->sig_len);
	if (r == 0)
		r = vigil_pcrsel_format(&ev->selection, sel, sizeof(sel));
	if (r == 0)
		r = vigil_json_add(q, "pcr_selection", json_object_new_string(sel));
	return r == 0 ? TAKE_PTR(q) : NULL;
}

static struct json_object *pcrs_json(const struct vigil_evidence *ev)
{
	_cleanup_(json_object_putp) struct json_object *pcrs = json_object_new_object();

	for (size_t i = 0; pcrs && i < ev->selection.count; i++) {
		uint16_t alg = ev->selection.pcrSelections[i].hash;
		struct json_object *bank = json_object_new_object();

		if (vigil_json_add(pcrs, vigil_hash_name(alg), bank) < 0)
			return NULL;
		for (uint32_t pcr = 0; pcr < 24; pcr++) {
			const struct vigil_pcr_value *v = vigil_pcr_values_get(&ev->pcrs, alg, pcr);
			char key[4];

			if (!vigil_pcrsel_has(&ev->selection, alg, pcr))
				continue;
			snprintf(key, sizeof(key), "%u", pcr);
			if (!v || add_hex(bank, key, v->digest, v->size) < 0)
				return NULL;
		}
	}
	return TAKE_PTR(pcrs);
}

static struct json_object *ak_json(const struct vigil_evidence *ev)
{
	_cleanup_(json_object_putp) struct json_object *ak = json_object_new_object();
	uint8_t pub[sizeof(TPM2B_PUBLIC)];
	TPM2B_NAME name;
	size_t len = 0;
	int r = ak ? 0 : -ENOMEM;

	if (r == 0 && (Tss2_MU_TPM2B_PUBLIC_Marshal(&ev->ak_public, pub, sizeof(pub), &len) ||
		       vigil_ak_name(&ev->ak_public.publicArea, &name) < 0))
		r = -EINVAL;
	if (r == 0)
		r = add_b64(ak, "public", pub, len);
	if (r == 0)
		r = add_hex(ak, "name", name.name, name.size);
	if (r == 0)
		r = vigil_json_add(ak, "handle", json_object_new_int64(ev->ak_handle));
	return r == 0 ? TAKE_PTR(ak) : NULL;
}

static struct json_object *log_json(const struct vigil_evidence *ev)
{
	_cleanup_(json_object_putp) struct json_object *log = json_object_new_object();
	int r = log ? 0 : -ENOMEM;

	if (r == 0)
		r = vigil_json_add(log, "from", json_object_new_int64((int64_t)ev->log_from));
	if (r == 0)
		r = add_b64(log, "binary", ev->log, ev->log_len);
	return r == 0 ? TAKE_PTR(log) : NULL;
}

static struct json_object *host_json(const struct vigil_evidence *ev)
{
	_cleanup_(json_object_putp) struct json_object *host = json_object_new_object();
	int r = host ? 0 : -ENOMEM;

	if (r == 0)
		r = add_opt_string(host, "kernel", ev->kernel);
	if (r == 0)
		r = add_opt_string(host, "boot_id", ev->boot_id);
	return r == 0 ? TAKE_PTR(host) : NULL;
}

static int format_root(const struct vigil_evidence *ev, struct json_object *root)
{
	char nonce[2 * VIGIL_NONCE_MAX + 1];
	int r;

	if (ev->nonce_len < VIGIL_NONCE_MIN || ev->nonce_len > VIGIL_NONCE_MAX)
		return -EINVAL;
	vigil_hex_encode(ev->nonce, ev->nonce_len, nonce, sizeof(nonce));
	r = vigil_json_add(root, "vigil_evidence", json_object_new_int(VIGIL_EVIDENCE_VERSION));
	if (r == 0)
		r = add_opt_string(root, "created", ev->created);
	if (r == 0)
		r = vigil_json_add(root, "nonce", json_object_new_string(nonce));
	if (r == 0)
		r = vigil_json_add(root, "quote", quote_json(ev));
	if (r == 0)
		r = vigil_json_add(root, "pcrs", pcrs_json(ev));
	if (r == 0)
		r = vigil_json_add(root, "ak", ak_json(ev));
	if (r == 0 && ev->log)
		r = vigil_json_add(root, "log", log_json(ev));
	else if (r == 0 && json_object_object_add(root, "log", NULL) < 0) /* JSON null */
		r = -ENOMEM;
	if (r == 0)
		r = vigil_json_add(root, "host", host_json(ev));
	return r;
}

/**
 * vigil_evidence_format() - write an evidence document
 * @ev: the evidence; @ev->log may be NULL (then "log" is null)
 * @ret: on success, the pretty-printed JSON text with a final newline; free() it
 *
 * Return: 0; -EINVAL if @ev is inconsistent (nonce size, selection, a value missing); -ENOMEM.
 */
int vigil_evidence_format(const struct vigil_evidence *ev, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	int r;

	if (!root)
		return -ENOMEM;
	r = format_root(ev, root);
	if (r < 0)
		return r;
	return vigil_json_format(root, ret);
}
