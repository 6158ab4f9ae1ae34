// SPDX-License-Identifier: MIT
/*
 * keylime.c: Keylime runtime policy <-> vigil policy (keylime.h says what maps to what).
 *
 * Parsing is strict like json.c's vigil_json_parse(): json-c in strict mode with UTF-8
 * validation, one value and nothing after it, nesting bounded. Keylime policies have objects
 * far larger than VIGIL_JSON_MEMBERS_MAX ("digests": one member per file), so the duplicate
 * check is done differently: json-c keeps one member per name, so the document has a repeated
 * name exactly when it has more member names (strings followed by ':') than the parsed tree
 * has members. A "\u0000" escape is refused anywhere: json-c would cut a member name there.
 *
 * Regexes: Keylime matches "excludes" with Python's re.match(); vigil with POSIX extended
 * regexes anchored at the start. Both readings agree on the common subset
 * vigil_keylime_regex_check() admits, which is what an import accepts and an export writes; a
 * translated glob uses only that subset.
 *
 * Invariants: an import either returns a complete policy or nothing (never a policy missing
 * something the document said); an export either writes every allowed digest and every
 * exclude of the policy or fails naming what Keylime cannot say.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "attest.h"
#include "cleanup.h"
#include "keylime.h"
#include "policy.h"

#define DIGEST_MAX 64

static int fail(struct vigil_policy_error *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vigil_policy_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return r;
	err->offset = 0;
	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof(err->what), fmt, ap);
	va_end(ap);
	return r;
}

/* ---- strict parsing ---- */

/* Member names in the text: strings followed by ':' (the text is valid JSON by now). */
static int count_names(const char *text, size_t len, size_t *ret)
{
	size_t names = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] != '"')
			continue;
		for (i++; i < len && text[i] != '"'; i++) {
			if (text[i] != '\\')
				continue;
			if (i + 5 < len && text[i + 1] == 'u' && !strncmp(text + i + 2, "0000", 4))
				return -EBADMSG;
			i++;
		}
		for (i++; i < len && strchr(" \t\r\n", text[i]); i++)
			;
		if (i < len && text[i] == ':')
			names++;
		i--;
	}
	*ret = names;
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): json-c parsed it at most VIGIL_JSON_DEPTH deep */
static size_t count_members(struct json_object *o)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += count_members(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			n += 1 + count_members(val);
		}
	}
	return n;
}

static int parse_strict(const char *text, size_t len, struct json_object **ret,
			struct vigil_policy_error *err)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_tokener *tok;
	size_t names = 0;
	bool ok;

	if (len == 0)
		return fail(err, -ENODATA, "empty document");
	if (len > VIGIL_POLICY_MAX || len > INT32_MAX)
		return fail(err, -EFBIG, "larger than %zu bytes", VIGIL_POLICY_MAX);
	if (memchr(text, '\0', len))
		return fail(err, -EBADMSG, "NUL byte in the document");
	tok = json_tokener_new_ex(VIGIL_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == len;
	if (!ok && err)
		fail(err, -EBADMSG, "not a JSON document: %s (byte %zu)",
		     json_tokener_error_desc(json_tokener_get_error(tok)),
		     json_tokener_get_parse_end(tok));
	json_tokener_free(tok);
	if (!ok)
		return -EBADMSG;
	if (count_names(text, len, &names) < 0)
		return fail(err, -EBADMSG, "\\u0000 in a string");
	if (names != count_members(o))
		return fail(err, -ENOTUNIQ, "a member name is repeated in an object");
	*ret = TAKE_PTR(o);
	return 0;
}

/* ---- regexes ---- */

static bool quantifier(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '}';
}

/* Inside [...]: POSIX reads '\' literally and "[:", "[=", "[." as classes; Python does not. */
static size_t check_bracket(const char *re, size_t i, char *why, size_t why_size)
{
	size_t j = i + 1;

	if (re[j] == '^')
		j++;
	if (re[j] == ']')
		j++;
	for (; re[j] && re[j] != ']'; j++) {
		if (re[j] == '\\' || re[j] == '[') {
			snprintf(why, why_size,
				 "'%c' inside [...] at %zu reads differently in Python "
				 "and POSIX",
				 re[j], j);
			return 0;
		}
	}
	if (!re[j]) {
		snprintf(why, why_size, "unterminated [ at %zu", i);
		return 0;
	}
	return j;
}

/* After '\': escapes only one of the two readings knows, or reads differently. */
static bool escape_differs(char c)
{
	return strchr("dDAZz<>`'", c) != NULL;
}

/**
 * vigil_keylime_regex_check() - whether a regex means the same to Python and POSIX ERE
 * @regex: the regex
 * @why: receives the reason when it does not
 * @why_size: room in @why
 *
 * Refused: \d \D \A \Z \z (Python only; GNU regex reads \d as 'd'), \< \> \` \' (GNU only),
 * "(?" extensions, lazy quantifiers (POSIX reads "+?" as "(...+)?"), and '\' or '[' inside
 * a bracket expression. Syntax errors are left to regcomp(3).
 *
 * Return: 0 or -EINVAL.
 */
int vigil_keylime_regex_check(const char *regex, char *why, size_t why_size)
{
	for (size_t i = 0; regex[i]; i++) {
		char c = regex[i];

		if (c == '\\' && regex[i + 1]) {
			if (escape_differs(regex[i + 1])) {
				snprintf(why, why_size,
					 "\\%c at %zu reads differently in Python and "
					 "POSIX",
					 regex[i + 1], i);
				return -EINVAL;
			}
			i++;
		} else if (c == '(' && regex[i + 1] == '?') {
			snprintf(why, why_size, "(? at %zu is a Python extension", i);
			return -EINVAL;
		} else if (quantifier(c) && regex[i + 1] == '?') {
			snprintf(why, why_size, "lazy quantifier %c? at %zu", c, i);
			return -EINVAL;
		} else if (c == '[') {
			i = check_bracket(regex, i, why, why_size);
			if (!i)
				return -EINVAL;
		}
	}
	return 0;
}

/* A glob's [...] as a regex bracket ("[!a-z]" -> "[^a-z]"); 0 if it has no closing ']'. */
static size_t glob_bracket(const char *g, size_t i, char *out, size_t *o, char *why,
			   size_t why_size)
{
	size_t j = i + 1, start;

	out[(*o)++] = '[';
	if (g[j] == '!' || g[j] == '^') {
		out[(*o)++] = '^';
		j++;
	}
	start = j;
	if (g[j] == ']')
		j++;
	for (; g[j] && g[j] != ']'; j++) {
		if (g[j] == '\\' || g[j] == '[') {
			snprintf(why, why_size,
				 "'%c' inside [...] at %zu has no portable regex form", g[j], j);
			return SIZE_MAX;
		}
	}
	if (!g[j])
		return 0;
	memcpy(out + *o, g + start, j - start);
	*o += j - start;
	out[(*o)++] = ']';
	return j;
}

/* The translation into @out (room for 2 * strlen(@glob) + 3 bytes). */
static int translate(const char *glob, char *out, char *why, size_t why_size)
{
	size_t len = strlen(glob), o = 0;

	out[o++] = '^';
	for (size_t i = 0; i < len; i++) {
		char c = glob[i];
		size_t end, mark = o;

		if (c == '*' || c == '?') {
			memcpy(out + o, c == '*' ? ".*" : ".", c == '*' ? 2 : 1);
			o += c == '*' ? 2 : 1;
			continue;
		}
		if (c == '[') {
			end = glob_bracket(glob, i, out, &o, why, why_size);
			if (end == SIZE_MAX)
				return -EINVAL;
			if (end) {
				i = end;
				continue;
			}
			o = mark; /* no closing ']': a literal '[' */
		} else if (c == '\\' && i + 1 == len) {
			snprintf(why, why_size, "a final '\\' (fnmatch matches nothing)");
			return -EINVAL;
		} else if (c == '\\') {
			c = glob[++i];
		}
		if (strchr(".^$|()+{}[]\\*?", c))
			out[o++] = '\\';
		out[o++] = c;
	}
	out[o++] = '$';
	out[o] = '\0';
	return 0;
}

/**
 * vigil_keylime_glob_regex() - an fnmatch(3) glob (flags 0) as an anchored regex
 * @glob: the glob
 * @ret: on success, the regex ("^...$"); free() it
 * @why: receives the reason on -EINVAL
 * @why_size: room in @why
 *
 * '*' becomes ".*" and '?' "." (both cross '/', as with flags 0), [...] a bracket expression
 * ('!' negation becomes '^'), every other character itself, escaped when special. The result
 * is in the subset vigil_keylime_regex_check() admits, so Python and POSIX read it alike.
 *
 * Return: 0; -EINVAL (a bracket with '\\' or '[' inside, e.g. a [:class:]; a final '\\');
 * -ENOMEM.
 */
int vigil_keylime_glob_regex(const char *glob, char **ret, char *why, size_t why_size)
{
	char *out = malloc(2 * strlen(glob) + 3);
	int r;

	if (!out)
		return -ENOMEM;
	r = translate(glob, out, why, why_size);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

/* ---- import ---- */

static int check_members(struct json_object *obj, const char *where, const char *const *known,
			 size_t n, struct vigil_policy_error *err)
{
	json_object_object_foreach(obj, key, val)
	{
		size_t i = 0;

		(void)val;
		while (i < n && strcmp(key, known[i]) != 0)
			i++;
		if (i == n)
			return fail(err, -EBADMSG,
				    "unsupported: %s%s\"%s\": not a member Keylime's "
				    "runtime policy version 1 defines",
				    where, *where ? "." : "", key);
	}
	return 0;
}

/* A member of @type, or absent (NULL) unless @required. */
static int member(struct json_object *obj, const char *where, const char *key, enum json_type type,
		  bool required, struct json_object **ret, struct vigil_policy_error *err)
{
	struct json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			return fail(err, -EBADMSG, "%s%s%s: missing", where, *where ? "." : "",
				    key);
		return 0;
	}
	if (!json_object_is_type(v, type))
		return fail(err, -EBADMSG, "%s%s%s: must be %s", where, *where ? "." : "", key,
			    json_type_to_name(type));
	*ret = v;
	return 0;
}

static int import_meta(struct json_object *root, struct vigil_keylime_notes *notes,
		       struct vigil_policy_error *err)
{
	static const char *const known[] = { "version", "generator", "timestamp" };
	struct json_object *meta = NULL, *v = NULL;
	int64_t n;
	int r;

	r = member(root, "", "meta", json_type_object, true, &meta, err);
	if (r == 0)
		r = check_members(meta, "meta", known, sizeof(known) / sizeof(known[0]), err);
	if (r == 0)
		r = member(meta, "meta", "version", json_type_int, true, &v, err);
	if (r < 0)
		return r;
	n = json_object_get_int64(v);
	if (n != VIGIL_KEYLIME_FORMAT)
		return fail(err, -EBADMSG, "meta.version: %lld, only %d is supported", (long long)n,
			    VIGIL_KEYLIME_FORMAT);
	r = member(meta, "meta", "generator", json_type_int, false, &v, err);
	if (r == 0 && v) {
		n = json_object_get_int64(v);
		if (n < 0 || n > VIGIL_KEYLIME_GENERATOR_MAX)
			return fail(err, -EBADMSG, "meta.generator: %lld, not 0..%d", (long long)n,
				    VIGIL_KEYLIME_GENERATOR_MAX);
		notes->generator = (int)n;
	}
	if (r == 0)
		r = member(meta, "meta", "timestamp", json_type_string, false, &v, err);
	return r;
}

static int import_ima(struct json_object *root, struct vigil_keylime_notes *notes,
		      struct vigil_policy_error *err)
{
	static const char *const known[] = { "ignored_keyrings", "log_hash_alg", "dm_policy" };
	struct json_object *ima = NULL, *v = NULL;
	uint16_t alg;
	int r;

	r = member(root, "", "ima", json_type_object, false, &ima, err);
	if (r < 0 || !ima)
		return r;
	r = check_members(ima, "ima", known, sizeof(known) / sizeof(known[0]), err);
	if (r == 0)
		r = member(ima, "ima", "ignored_keyrings", json_type_array, false, &v, err);
	for (size_t i = 0; r == 0 && v && i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return fail(err, -EBADMSG, "ima.ignored_keyrings[%zu]: must be a string",
				    i);
	notes->ignored_keyrings = v ? json_object_array_length(v) : 0;
	if (r == 0)
		r = member(ima, "ima", "log_hash_alg", json_type_string, false, &v, err);
	if (r == 0 && v) {
		if (vigil_hash_from_name(json_object_get_string(v), &alg) < 0)
			return fail(err, -EBADMSG,
				    "ima.log_hash_alg: \"%s\" is not sha1, sha256, "
				    "sha384 or sha512",
				    json_object_get_string(v));
		snprintf(notes->log_hash_alg, sizeof(notes->log_hash_alg), "%s",
			 json_object_get_string(v));
	}
	if (r == 0 && json_object_object_get_ex(ima, "dm_policy", &v) && v)
		return fail(err, -EOPNOTSUPP,
			    "unsupported: ima.dm_policy: device-mapper policies "
			    "have no vigil equivalent");
	return r;
}

/* Members whose content vigil cannot express: refused when not empty, never dropped. */
static int import_unsupported(struct json_object *root, struct vigil_policy_error *err)
{
	struct json_object *v = NULL;
	int r;

	r = member(root, "", "keyrings", json_type_object, false, &v, err);
	if (r == 0 && v && json_object_object_length(v))
		return fail(err, -EOPNOTSUPP,
			    "unsupported: keyrings: %d keyring(s) of allowed "
			    "key digests; vigil policies do not admit keys",
			    json_object_object_length(v));
	if (r == 0)
		r = member(root, "", "ima-buf", json_type_object, false, &v, err);
	if (r == 0 && v && json_object_object_length(v))
		return fail(err, -EOPNOTSUPP,
			    "unsupported: ima-buf: %d buffer name(s) with "
			    "digests have no vigil equivalent",
			    json_object_object_length(v));
	if (r == 0)
		r = member(root, "", "verification-keys", json_type_string, false, &v, err);
	if (r == 0 && v && json_object_get_string_len(v))
		return fail(err, -EOPNOTSUPP,
			    "unsupported: verification-keys: IMA signature "
			    "keys; vigil policies allow digests, not signers");
	if (r == 0)
		r = member(root, "", "rules", json_type_string, false, &v, err);
	if (r == 0 && v && json_object_get_string_len(v))
		return fail(err, -EOPNOTSUPP,
			    "unsupported: rules: vigil policies have no "
			    "equivalent");
	return r;
}

static int hash_of_length(size_t hex_len, uint16_t *ret)
{
	static const struct {
		size_t len;
		uint16_t alg;
	} algs[] = { { 40, TPM2_ALG_SHA1 },
		     { 64, TPM2_ALG_SHA256 },
		     { 96, TPM2_ALG_SHA384 },
		     { 128, TPM2_ALG_SHA512 } };

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].len == hex_len) {
			*ret = algs[i].alg;
			return 0;
		}
	return -EINVAL;
}

/* One digest of digests[path][i]: hex of the length all the others have. */
static int check_digest(struct json_object *v, const char *path, size_t i, size_t *hex_len,
			struct vigil_policy_error *err)
{
	uint8_t d[DIGEST_MAX];
	size_t len, n;
	uint16_t alg;

	if (!json_object_is_type(v, json_type_string))
		return fail(err, -EBADMSG, "digests[\"%s\"][%zu]: must be a string", path, i);
	len = (size_t)json_object_get_string_len(v);
	if (hash_of_length(len, &alg) < 0 ||
	    vigil_hex_decode(json_object_get_string(v), len, d, sizeof(d), &n) < 0)
		return fail(err, -EBADMSG,
			    "digests[\"%s\"][%zu]: not the hex of a sha1, sha256, "
			    "sha384 or sha512 digest",
			    path, i);
	if (*hex_len && len != *hex_len)
		return fail(err, -EBADMSG,
			    "digests[\"%s\"][%zu]: %zu hex digits, other digests "
			    "have %zu (one hash algorithm per policy)",
			    path, i, len, *hex_len);
	*hex_len = len;
	return 0;
}

static int scan_digests(struct json_object *digests, uint16_t *ret_alg,
			struct vigil_policy_error *err)
{
	size_t hex_len = 0;
	int r;

	json_object_object_foreach(digests, path, list)
	{
		if (!json_object_is_type(list, json_type_array) || !json_object_array_length(list))
			return fail(err, -EBADMSG, "digests[\"%s\"]: must be a non-empty array",
				    path);
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			r = check_digest(json_object_array_get_idx(list, i), path, i, &hex_len,
					 err);
			if (r < 0)
				return r;
		}
	}
	if (hex_len)
		return hash_of_length(hex_len, ret_alg);
	return 0;
}

static int add_digests(struct vigil_policy *p, struct json_object *digests,
		       struct vigil_policy_error *err)
{
	uint8_t d[DIGEST_MAX];
	size_t n;
	int r;

	json_object_object_foreach(digests, path, list)
	{
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *v = json_object_array_get_idx(list, i);

			r = vigil_hex_decode(json_object_get_string(v),
					     (size_t)json_object_get_string_len(v), d, sizeof(d),
					     &n);
			if (r == 0)
				r = vigil_policy_add_digest(p, path, strlen(path), d);
			if (r == -EINVAL)
				return fail(err, -EBADMSG,
					    "digests[\"%s\"]: not a vigil policy path "
					    "(absolute, or a record name without '/')",
					    path);
			if (r < 0)
				return fail(err, r, "digests[\"%s\"]: %s", path, strerror(-r));
		}
	}
	return 0;
}

static int check_excludes(struct json_object *excludes, struct vigil_policy_error *err)
{
	char why[160];

	for (size_t i = 0; excludes && i < json_object_array_length(excludes); i++) {
		struct json_object *v = json_object_array_get_idx(excludes, i);

		if (!json_object_is_type(v, json_type_string))
			return fail(err, -EBADMSG, "excludes[%zu]: must be a string", i);
		if (vigil_keylime_regex_check(json_object_get_string(v), why, sizeof(why)) < 0)
			return fail(err, -EOPNOTSUPP, "unsupported: excludes[%zu] \"%s\": %s", i,
				    json_object_get_string(v), why);
	}
	return 0;
}

static int add_excludes(struct vigil_policy *p, struct json_object *excludes,
			struct vigil_policy_error *err)
{
	for (size_t i = 0; excludes && i < json_object_array_length(excludes); i++) {
		const char *re = json_object_get_string(json_object_array_get_idx(excludes, i));
		int r = vigil_policy_add_exclude_regex(p, re);

		if (r == -EINVAL)
			return fail(err, -EBADMSG, "excludes[%zu] \"%s\": not a valid regex", i,
				    re);
		if (r < 0)
			return fail(err, r, "excludes[%zu]: %s", i, strerror(-r));
	}
	return 0;
}

static int import_release(struct json_object *root, struct vigil_keylime_notes *notes,
			  struct vigil_policy_error *err)
{
	struct json_object *v = NULL;
	int64_t n;
	int r = member(root, "", "release", json_type_int, false, &v, err);

	if (r < 0 || !v)
		return r;
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > ((uint64_t)1 << 53) - 1)
		return fail(err, -EBADMSG, "release: %lld is not 0..2^53-1", (long long)n);
	notes->has_release = true;
	notes->release = (uint64_t)n;
	return 0;
}

static int new_policy(const struct vigil_keylime_import_opts *o, uint16_t alg,
		      const struct vigil_keylime_notes *notes, struct vigil_policy **ret,
		      struct vigil_policy_error *err)
{
	struct vigil_policy_info info = {
		.version = o->version_set     ? o->version :
			   notes->has_release ? notes->release :
						1,
		.valid_until = o->valid_until,
		.created = o->created,
		.hash_alg = alg,
		.violations = o->violations,
	};
	int r;

	snprintf(info.name, sizeof(info.name), "%s", o->name ? o->name : "");
	snprintf(info.generator, sizeof(info.generator), "%s", o->generator ? o->generator : "");
	r = vigil_policy_new(&info, ret);
	if (r == -EINVAL)
		return fail(err, r,
			    "name \"%s\", version %llu or validity not valid for a "
			    "policy",
			    info.name, (unsigned long long)info.version);
	return r;
}

static int import_checks(struct json_object *root, struct vigil_keylime_notes *notes, uint16_t *alg,
			 struct vigil_policy_error *err)
{
	static const char *const known[] = { "meta",	 "release",	      "digests",
					     "excludes", "keyrings",	      "ima",
					     "ima-buf",	 "verification-keys", "rules" };
	struct json_object *v = NULL;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return fail(err, -EBADMSG, "not a JSON object");
	r = check_members(root, "", known, sizeof(known) / sizeof(known[0]), err);
	if (r == 0)
		r = import_meta(root, notes, err);
	if (r == 0)
		r = import_release(root, notes, err);
	if (r == 0)
		r = import_unsupported(root, err);
	if (r == 0)
		r = import_ima(root, notes, err);
	if (r == 0)
		r = member(root, "", "excludes", json_type_array, false, &v, err);
	if (r == 0)
		r = check_excludes(v, err);
	if (r == 0)
		r = member(root, "", "digests", json_type_object, false, &v, err);
	if (r == 0 && v)
		r = scan_digests(v, alg, err);
	return r;
}

/**
 * vigil_keylime_import() - a vigil policy from a Keylime runtime policy
 * @text: the Keylime policy (JSON)
 * @len: its length
 * @o: what Keylime's format does not say (name, validity, ...)
 * @ret: on success, the policy
 * @notes: on success, what was accepted without an equivalent (keylime.h)
 * @err: on failure, the member at fault and why
 *
 * Return: 0; -EOPNOTSUPP (a member vigil cannot express: "unsupported: ..." in @err);
 * -EBADMSG (not a valid Keylime runtime policy, or a path or regex a vigil policy cannot
 * hold); -ENOTUNIQ (a repeated member name); -EFBIG; -EINVAL (@o's values); -ENOMEM.
 */
int vigil_keylime_import(const char *text, size_t len, const struct vigil_keylime_import_opts *o,
			 struct vigil_policy **ret, struct vigil_keylime_notes *notes,
			 struct vigil_policy_error *err)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_keylime_notes n = { .generator = -1 };
	struct json_object *digests = NULL, *excludes = NULL;
	uint16_t alg = o->hash_alg ? o->hash_alg : TPM2_ALG_SHA256;
	int r;

	r = parse_strict(text, len, &root, err);
	if (r == 0)
		r = import_checks(root, &n, &alg, err);
	if (r == 0)
		r = new_policy(o, alg, &n, &p, err);
	if (r < 0)
		return r;
	json_object_object_get_ex(root, "digests", &digests);
	json_object_object_get_ex(root, "excludes", &excludes);
	r = digests ? add_digests(p, digests, err) : 0;
	if (r == 0)
		r = add_excludes(p, excludes, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	if (notes)
		*notes = n;
	return 0;
}

/* ---- export ---- */

struct export
{
	struct json_object *digests;
	struct json_object *excludes;
	size_t ds;
	struct vigil_policy_error *err;
	size_t globs;
};

/* Like vigil_json_add() for arrays: takes @val, and a NULL @val (a failed build) is -ENOMEM. */
static int array_add(struct json_object *array, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(array, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *hex_string(const uint8_t *d, size_t n)
{
	char hex[2 * DIGEST_MAX + 1];

	if (vigil_hex_encode(d, n, hex, sizeof(hex)) < 0)
		return NULL;
	return json_object_new_string_len(hex, (int)(2 * n));
}

static int export_path(void *ctx, const char *path, size_t len, const uint8_t *digests,
		       size_t count)
{
	struct export *e = ctx;
	char key[VIGIL_POLICY_PATH_MAX + 1];
	struct json_object *list;

	if (len >= sizeof(key))
		return -EINVAL; /* a policy never has such a path */
	memcpy(key, path, len);
	key[len] = '\0';
	list = json_object_new_array_ext((int)count);
	if (!list || vigil_json_add(e->digests, key, list) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		if (array_add(list, hex_string(digests + i * e->ds, e->ds)) < 0)
			return -ENOMEM;
	return 0;
}

static int export_regex(void *ctx, const char *pattern)
{
	struct export *e = ctx;
	char why[160];

	if (vigil_keylime_regex_check(pattern, why, sizeof(why)) < 0)
		return fail(e->err, -EOPNOTSUPP, "excludes_regex \"%s\": %s", pattern, why);
	return array_add(e->excludes, json_object_new_string(pattern));
}

static int export_glob(void *ctx, const char *pattern)
{
	struct export *e = ctx;
	char *re = NULL, why[160];
	int r = vigil_keylime_glob_regex(pattern, &re, why, sizeof(why));

	if (r == -EINVAL)
		return fail(e->err, -EOPNOTSUPP, "excludes \"%s\": %s", pattern, why);
	if (r < 0)
		return r;
	r = array_add(e->excludes, json_object_new_string(re));
	free(re);
	e->globs += r == 0;
	return r;
}

/* The golden boot_aggregate is Keylime's digests["boot_aggregate"]. */
static int export_boot_aggregate(struct export *e, const struct vigil_policy_info *info)
{
	struct json_object *list = NULL, *hex;

	if (!info->has_boot_aggregate)
		return 0;
	hex = hex_string(info->boot_aggregate, e->ds);
	if (!hex)
		return -ENOMEM;
	if (!json_object_object_get_ex(e->digests, "boot_aggregate", &list)) {
		list = json_object_new_array();
		if (vigil_json_add(e->digests, "boot_aggregate", list) < 0) {
			json_object_put(hex);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
			    json_object_get_string(hex))) {
			json_object_put(hex);
			return 0;
		}
	return array_add(list, hex);
}

static int export_refuse(const struct vigil_policy_info *info, struct vigil_policy_error *err)
{
	if (info->any_path)
		return fail(err, -EOPNOTSUPP,
			    "any_path: %zu digest(s) allowed at any path; a "
			    "Keylime runtime policy allows digests only by path",
			    info->any_path);
	if (info->deny)
		return fail(err, -EOPNOTSUPP,
			    "deny: %zu denied digest(s); a Keylime runtime "
			    "policy cannot deny",
			    info->deny);
	if (info->pcrs)
		return fail(err, -EOPNOTSUPP,
			    "pcrs: %zu golden PCR value(s); a Keylime runtime "
			    "policy has none (use a measured-boot policy)",
			    info->pcrs);
	return 0;
}

static struct json_object *export_meta(const struct vigil_policy_info *info)
{
	_cleanup_(json_object_putp) struct json_object *meta = json_object_new_object();
	char ts[32];
	struct tm tm;
	time_t t = (time_t)info->created;

	if (!meta || vigil_json_add(meta, "version", json_object_new_int(VIGIL_KEYLIME_FORMAT)) ||
	    vigil_json_add(meta, "generator", json_object_new_int(VIGIL_KEYLIME_GENERATOR)))
		return NULL;
	if (info->created && gmtime_r(&t, &tm) &&
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) &&
	    vigil_json_add(meta, "timestamp", json_object_new_string(ts)))
		return NULL;
	return TAKE_PTR(meta);
}

static struct json_object *export_ima(void)
{
	_cleanup_(json_object_putp) struct json_object *ima = json_object_new_object();

	if (!ima || vigil_json_add(ima, "ignored_keyrings", json_object_new_array()) ||
	    vigil_json_add(ima, "log_hash_alg", json_object_new_string("sha1")) ||
	    json_object_object_add(ima, "dm_policy", NULL))
		return NULL;
	return TAKE_PTR(ima);
}

static int export_members(const struct vigil_policy *p, struct json_object *root, struct export *e)
{
	const struct vigil_policy_info *info = vigil_policy_info(p);
	int r;

	if (vigil_json_add(root, "meta", export_meta(info)) ||
	    vigil_json_add(root, "release", json_object_new_int64((int64_t)info->version)) ||
	    vigil_json_add(root, "digests", e->digests = json_object_new_object()) ||
	    vigil_json_add(root, "excludes", e->excludes = json_object_new_array()) ||
	    vigil_json_add(root, "keyrings", json_object_new_object()) ||
	    vigil_json_add(root, "ima", export_ima()) ||
	    vigil_json_add(root, "ima-buf", json_object_new_object()) ||
	    vigil_json_add(root, "verification-keys", json_object_new_string("")))
		return -ENOMEM;
	r = vigil_policy_foreach_path(p, export_path, e);
	if (r == 0)
		r = export_boot_aggregate(e, info);
	if (r == 0)
		r = vigil_policy_foreach_exclude(p, true, export_regex, e);
	if (r == 0)
		r = vigil_policy_foreach_exclude(p, false, export_glob, e);
	return r;
}

/**
 * vigil_keylime_export() - a Keylime runtime policy from a vigil policy
 * @p: the policy
 * @ret: on success, the Keylime policy (JSON text with a final newline); free() it
 * @ret_len: on success, its length
 * @notes: on success, what Keylime has no place for (keylime.h)
 * @err: on failure, the member that cannot be expressed and why
 *
 * Return: 0; -EOPNOTSUPP (any_path, deny, pcrs, or a pattern without a portable regex form);
 * -ENOMEM.
 */
int vigil_keylime_export(const struct vigil_policy *p, char **ret, size_t *ret_len,
			 struct vigil_keylime_notes *notes, struct vigil_policy_error *err)
{
	const struct vigil_policy_info *info = vigil_policy_info(p);
	_cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
	struct export e = { .ds = info->digest_size, .err = err };
	char *text;
	int r;

	r = export_refuse(info, err);
	if (r < 0)
		return r;
	if (!root)
		return -ENOMEM;
	r = export_members(p, root, &e);
	if (r == -ENOMEM)
		return fail(err, r, "%s", strerror(ENOMEM));
	if (r < 0)
		return r;
	r = vigil_json_format(root, &text);
	if (r < 0)
		return fail(err, r, "%s", strerror(-r));
	*ret = text;
	*ret_len = strlen(text);
	if (notes)
		*notes = (struct vigil_keylime_notes){
			.generator = VIGIL_KEYLIME_GENERATOR,
			.globs = e.globs,
			.packages = info->packages,
			.valid_until = info->valid_until,
			.violations = info->violations != VIGIL_POLICY_VIOLATIONS_FAIL,
		};
	return 0;
}
