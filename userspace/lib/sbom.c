// SPDX-License-Identifier: MIT
/*
 * sbom.c: CycloneDX 1.5 and 1.6 JSON BOMs as an index from a file's SHA-256 to the component
 * it belongs to, so the compliance report can name the component and version of a measured
 * file (compliance.md §12: attribution by hash, never by path).
 *
 * The document is parsed with vigil_json_parse() (strict: duplicate member names, trailing
 * bytes and invalid UTF-8 are rejected; at most VIGIL_JSON_DEPTH = 16 levels). That bound is
 * enough for components nested six deep with their "hashes", five deep when 1.6 "evidence"
 * sits beside them; a deeper BOM is refused by name rather than read in part. Components
 * (under "components" and "metadata.component", at any depth) are walked with an explicit
 * stack, never by recursion. Only "SHA-256" hashes are indexed: IMA logs sha256 digests and a
 * digest of another algorithm could never match one; they must still be well-formed (64 hex
 * digits, either case).
 *
 * Invariants: a parsed BOM owns copies of every string it hands out (the JSON tree is gone
 * after the parse), all in one block; the index is sorted by digest and, for equal digests,
 * by document order, so a file in two components is attributed to the first one; at most
 * SBOM_COMPONENTS_MAX components and fields of at most SBOM_FIELD_MAX bytes, without NUL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "attest.h"
#include "cleanup.h"
#include "compliance.h"

#define SBOM_COMPONENTS_MAX 1000000
#define SBOM_FIELD_MAX 4096 /* bytes of one name, version, purl, bom-ref or serialNumber */
#define SBOM_STACK_MAX VIGIL_JSON_DEPTH /* a "components" array per two levels of nesting */

enum { F_NAME, F_VERSION, F_PURL, F_BOM_REF, F_COUNT };
enum { I_SPEC, I_SERIAL, I_NAME, I_VERSION, I_COUNT };

/* One indexed digest: the component is an index into vigil_sbom.comps. */
struct entry {
	uint8_t sha256[32];
	uint32_t comp;
};

struct vigil_sbom {
	char *strings;
	size_t ncomps;
	struct vigil_sbom_component *comps;
	size_t nentries;
	struct entry *index;
	const char *info[I_COUNT];
};

/* While parsing: strings by offset into a growing block (offset 0 is ""). */
struct builder {
	char *str;
	size_t str_len, str_cap;
	size_t (*comps)[F_COUNT];
	size_t ncomps, comps_cap;
	struct entry *index;
	size_t nentries, index_cap;
	size_t seen;
	size_t info[I_COUNT];
	const char *err;
};

static void builder_release(struct builder *b)
{
	free(b->str);
	free(b->comps);
	free(b->index);
}

static int add_string(struct builder *b, const char *s, size_t len, size_t *ret)
{
	size_t need = b->str_len + len + 1;

	if (!len) {
		*ret = 0;
		return 0;
	}
	if (need > b->str_cap) {
		size_t cap = need > 2 * b->str_cap ? need : 2 * b->str_cap;
		char *bigger = realloc(b->str, cap);

		if (!bigger)
			return -ENOMEM;
		b->str = bigger;
		b->str_cap = cap;
	}
	memcpy(b->str + b->str_len, s, len);
	b->str[b->str_len + len] = '\0';
	*ret = b->str_len;
	b->str_len = need;
	return 0;
}

static int fail(struct builder *b, const char *err)
{
	b->err = err;
	return -EBADMSG;
}

/* An optional string member, bounded, without NUL; absent is "". */
static int get_field(struct builder *b, struct json_object *obj, const char *key, const char **ret,
		     size_t *ret_len)
{
	struct json_object *v;
	size_t len;

	*ret = "";
	*ret_len = 0;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(b, "a name, version, purl, bom-ref or serialNumber is not a string");
	len = (size_t)json_object_get_string_len(v);
	*ret = json_object_get_string(v);
	if (len > SBOM_FIELD_MAX)
		return fail(b, "a name, version, purl, bom-ref or serialNumber is longer than "
			       "4096 bytes");
	if (memchr(*ret, '\0', len))
		return fail(b, "a string contains a NUL character (\\u0000)");
	*ret_len = len;
	return 0;
}

/* The component's identity, copied: it has a SHA-256 to be found by. */
static int add_component(struct builder *b, struct json_object *obj, uint32_t *ret)
{
	static const char *const keys[F_COUNT] = { "name", "version", "purl", "bom-ref" };
	size_t off[F_COUNT];
	int r;

	for (size_t i = 0; i < F_COUNT; i++) {
		const char *s;
		size_t len;

		r = get_field(b, obj, keys[i], &s, &len);
		if (r == 0)
			r = add_string(b, s, len, &off[i]);
		if (r < 0)
			return r;
	}
	r = vigil_grow(&b->comps, b->ncomps, &b->comps_cap, sizeof(*b->comps), 64);
	if (r < 0)
		return r;
	memcpy(b->comps[b->ncomps], off, sizeof(off));
	*ret = (uint32_t)b->ncomps++;
	return 0;
}

/* One element of "hashes": a SHA-256 goes into *@digest (true returned via @found). */
static int read_hash(struct builder *b, struct json_object *h, uint8_t digest[32], bool *found)
{
	struct json_object *alg, *content;
	const char *hex;
	size_t n;

	*found = false;
	if (!json_object_is_type(h, json_type_object) ||
	    !json_object_object_get_ex(h, "alg", &alg) ||
	    !json_object_object_get_ex(h, "content", &content) ||
	    !json_object_is_type(alg, json_type_string) ||
	    !json_object_is_type(content, json_type_string))
		return fail(b, "a hash is not an object with string \"alg\" and \"content\"");
	if (strcmp(json_object_get_string(alg), "SHA-256") != 0)
		return 0;
	hex = json_object_get_string(content);
	if (json_object_get_string_len(content) != 64 || vigil_hex_decode(hex, 64, digest, 32, &n))
		return fail(b, "a SHA-256 hash is not 64 hex digits");
	*found = true;
	return 0;
}

/* Index every SHA-256 of one component; the component is copied at its first one. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the component, then its hashes */
static int index_hashes(struct builder *b, struct json_object *comp, struct json_object *hashes)
{
	size_t n = json_object_array_length(hashes);
	uint32_t idx = 0;
	bool added = false;

	for (size_t i = 0; i < n; i++) {
		uint8_t digest[32];
		bool found;
		int r = read_hash(b, json_object_array_get_idx(hashes, i), digest, &found);

		if (r < 0)
			return r;
		if (!found)
			continue;
		if (!added) {
			r = add_component(b, comp, &idx);
			if (r < 0)
				return r;
			added = true;
		}
		r = vigil_grow(&b->index, b->nentries, &b->index_cap, sizeof(*b->index), 64);
		if (r < 0)
			return r;
		memcpy(b->index[b->nentries].sha256, digest, 32);
		b->index[b->nentries++].comp = idx;
	}
	return 0;
}

/* An optional array member; absent is NULL. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the member's name, then the error */
static int get_array(struct builder *b, struct json_object *obj, const char *key, const char *err,
		     struct json_object **ret)
{
	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, ret))
		return 0;
	if (!json_object_is_type(*ret, json_type_array))
		return fail(b, err);
	return 0;
}

/* One component: checked, indexed; *@children its "components" (or NULL). */
static int visit(struct builder *b, struct json_object *comp, struct json_object **children)
{
	struct json_object *name, *hashes;
	const char *s;
	size_t len;
	int r;

	if (!json_object_is_type(comp, json_type_object))
		return fail(b, "a component is not a JSON object");
	if (++b->seen > SBOM_COMPONENTS_MAX)
		return fail(b, "more than 1000000 components");
	if (!json_object_object_get_ex(comp, "name", &name))
		return fail(b, "a component has no \"name\"");
	for (size_t i = 0; i < 4; i++) {
		static const char *const keys[] = { "name", "version", "purl", "bom-ref" };

		r = get_field(b, comp, keys[i], &s, &len);
		if (r < 0)
			return r;
	}
	r = get_array(b, comp, "hashes", "a component's \"hashes\" is not an array", &hashes);
	if (r == 0 && hashes)
		r = index_hashes(b, comp, hashes);
	if (r == 0)
		r = get_array(b, comp, "components", "\"components\" is not an array", children);
	return r;
}

/* Every component in @top and below it, depth first, in document order. */
static int walk(struct builder *b, struct json_object *top)
{
	struct {
		struct json_object *arr;
		size_t next;
	} stack[SBOM_STACK_MAX];
	size_t depth = 1;

	stack[0].arr = top;
	stack[0].next = 0;
	while (depth) {
		struct json_object *children = NULL;
		size_t i = stack[depth - 1].next;
		int r;

		if (i == json_object_array_length(stack[depth - 1].arr)) {
			depth--;
			continue;
		}
		stack[depth - 1].next++;
		r = visit(b, json_object_array_get_idx(stack[depth - 1].arr, i), &children);
		if (r < 0)
			return r;
		if (!children)
			continue;
		/* Cannot happen under the JSON depth bound; kept so the stack is bounded here. */
		if (depth == SBOM_STACK_MAX)
			return fail(b, "components nested too deeply");
		stack[depth].arr = children;
		stack[depth++].next = 0;
	}
	return 0;
}

/* A lone component (metadata.component) walked like a one-element array. */
static int walk_one(struct builder *b, struct json_object *comp)
{
	_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();

	if (!arr || json_object_array_add(arr, json_object_get(comp)) < 0)
		return -ENOMEM;
	return walk(b, arr);
}

static int check_header(struct builder *b, struct json_object *root)
{
	struct json_object *v;
	const char *spec;

	if (!json_object_is_type(root, json_type_object))
		return fail(b, "not a JSON object");
	if (!json_object_object_get_ex(root, "bomFormat", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "CycloneDX") != 0)
		return fail(b, "\"bomFormat\" is not \"CycloneDX\"");
	if (!json_object_object_get_ex(root, "specVersion", &v) ||
	    !json_object_is_type(v, json_type_string))
		return fail(b, "\"specVersion\" is missing or not a string");
	spec = json_object_get_string(v);
	if (strcmp(spec, "1.5") != 0 && strcmp(spec, "1.6") != 0)
		return fail(b,
			    "\"specVersion\" is not \"1.5\" or \"1.6\" (the versions vigil reads)");
	return add_string(b, spec, 3, &b->info[I_SPEC]);
}

/* serialNumber and metadata.component's name and version, for the report's SBOM identity. */
static int read_info(struct builder *b, struct json_object *root, struct json_object **ret_meta)
{
	struct json_object *meta = NULL, *comp = NULL;
	const char *s;
	size_t len;
	int r = get_field(b, root, "serialNumber", &s, &len);

	if (r == 0)
		r = add_string(b, s, len, &b->info[I_SERIAL]);
	if (r < 0)
		return r;
	*ret_meta = NULL;
	if (json_object_object_get_ex(root, "metadata", &meta) &&
	    !json_object_is_type(meta, json_type_object))
		return fail(b, "\"metadata\" is not a JSON object");
	if (!meta || !json_object_object_get_ex(meta, "component", &comp))
		return 0;
	if (!json_object_is_type(comp, json_type_object))
		return fail(b, "\"metadata.component\" is not a JSON object");
	r = get_field(b, comp, "name", &s, &len);
	if (r == 0)
		r = add_string(b, s, len, &b->info[I_NAME]);
	if (r == 0)
		r = get_field(b, comp, "version", &s, &len);
	if (r == 0)
		r = add_string(b, s, len, &b->info[I_VERSION]);
	if (r == 0)
		*ret_meta = comp;
	return r;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparison function */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = memcmp(x->sha256, y->sha256, 32);

	if (c)
		return c;
	return x->comp < y->comp ? -1 : x->comp > y->comp;
}

/* The finished BOM: offsets turned into pointers into the one string block. */
static int finish(struct builder *b, struct vigil_sbom **ret)
{
	_cleanup_free_ struct vigil_sbom *s = calloc(1, sizeof(*s));
	_cleanup_free_ struct vigil_sbom_component *comps =
		calloc(b->ncomps ? b->ncomps : 1, sizeof(*comps));

	if (!s || !comps)
		return -ENOMEM; // NOLINT(clang-analyzer-unix.Malloc): both are _cleanup_free_
	for (size_t i = 0; i < b->ncomps; i++) {
		comps[i].name = b->str + b->comps[i][F_NAME];
		comps[i].version = b->str + b->comps[i][F_VERSION];
		comps[i].purl = b->str + b->comps[i][F_PURL];
		comps[i].bom_ref = b->str + b->comps[i][F_BOM_REF];
	}
	for (size_t i = 0; i < I_COUNT; i++)
		s->info[i] = b->str + b->info[i];
	if (b->nentries)
		qsort(b->index, b->nentries, sizeof(*b->index), cmp_entry);
	s->ncomps = b->ncomps;
	s->nentries = b->nentries;
	s->comps = TAKE_PTR(comps);
	s->index = TAKE_PTR(b->index);
	s->strings = TAKE_PTR(b->str);
	*ret = TAKE_PTR(s);
	return 0;
}

static const char *parse_error(int r)
{
	switch (r) {
	case -EFBIG:
		return "larger than 256 MiB";
	case -ENODATA:
		return "empty";
	case -ENOTUNIQ:
		return "a member name appears twice in one object";
	case -E2BIG:
		return "an object has more than 64 members";
	case -ELOOP:
		return "nested deeper than 16 levels (components nest at most 6 deep)";
	default:
		return "not valid JSON (RFC 8259, UTF-8, nothing after the document)";
	}
}

static int build(struct builder *b, struct json_object *root, struct vigil_sbom **ret)
{
	struct json_object *meta = NULL, *comps = NULL;
	int r = check_header(b, root);

	if (r == 0)
		r = read_info(b, root, &meta);
	if (r == 0 && meta)
		r = walk_one(b, meta);
	if (r == 0)
		r = get_array(b, root, "components", "\"components\" is not an array", &comps);
	if (r == 0 && comps)
		r = walk(b, comps);
	if (r == 0)
		r = finish(b, ret);
	return r;
}

/**
 * vigil_sbom_parse() - read a CycloneDX 1.5 or 1.6 JSON BOM and index its SHA-256 hashes
 * @text: the document; need not be NUL-terminated
 * @len: its length, at most VIGIL_SBOM_MAX
 * @ret: on success, the BOM; release with vigil_sbom_free()
 * @err: on -EBADMSG, a static text naming what is wrong (may be NULL)
 *
 * Return: 0, -EBADMSG (not a BOM vigil reads: too large, not strict JSON, wrong bomFormat or
 * specVersion, a malformed component or hash, too many components) or -ENOMEM.
 */
int vigil_sbom_parse(const char *text, size_t len, struct vigil_sbom **ret, const char **err)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct builder b = { 0 };
	int r;

	/* offset 0 of the string block is the "" every absent field points at */
	b.str = calloc(1, 64);
	if (!b.str)
		return -ENOMEM;
	b.str_cap = 64;
	b.str_len = 1;
	r = vigil_json_parse(text, len, VIGIL_SBOM_MAX, &root);
	if (r < 0 && r != -ENOMEM) {
		b.err = parse_error(r);
		r = -EBADMSG;
	}
	if (r == 0)
		r = build(&b, root, ret);
	if (r == -EBADMSG && err)
		*err = b.err;
	builder_release(&b);
	return r;
}

/**
 * vigil_sbom_lookup() - the component a file with this SHA-256 belongs to
 * @s: the BOM
 * @sha256: the file's digest
 *
 * Return: the first component (in document order) listing the digest, or NULL.
 */
const struct vigil_sbom_component *vigil_sbom_lookup(const struct vigil_sbom *s,
						     const uint8_t sha256[32])
{
	size_t lo = 0, hi = s->nentries;

	/* the first entry not below @sha256 (lower bound), so equal digests give the first */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(s->index[mid].sha256, sha256, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->nentries || CRYPTO_memcmp(s->index[lo].sha256, sha256, 32) != 0)
		return NULL;
	return &s->comps[s->index[lo].comp];
}

/**
 * vigil_sbom_info() - what identifies the BOM
 * @s: the BOM
 * @spec_version: receives "1.5" or "1.6" (may be NULL)
 * @serial: receives serialNumber, "" when absent (may be NULL)
 * @name: receives metadata.component.name, "" when absent (may be NULL)
 * @version: receives metadata.component.version, "" when absent (may be NULL)
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): compliance.h's interface */
void vigil_sbom_info(const struct vigil_sbom *s, const char **spec_version, const char **serial,
		     const char **name, const char **version)
{
	if (spec_version)
		*spec_version = s->info[I_SPEC];
	if (serial)
		*serial = s->info[I_SERIAL];
	if (name)
		*name = s->info[I_NAME];
	if (version)
		*version = s->info[I_VERSION];
}

/**
 * vigil_sbom_free() - release a BOM
 * @s: the BOM, or NULL
 */
void vigil_sbom_free(struct vigil_sbom *s)
{
	if (!s)
		return;
	free(s->strings);
	free(s->comps);
	free(s->index);
	free(s);
}

/**
 * vigil_sbom_freep() - vigil_sbom_free() for _cleanup_()
 * @s: where the BOM pointer is
 */
void vigil_sbom_freep(struct vigil_sbom **s)
{
	vigil_sbom_free(*s);
}
