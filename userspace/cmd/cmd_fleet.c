// SPDX-License-Identifier: MIT
/*
 * cmd_fleet.c: `vigil fleet add|list|show|remove|policy`: the operator's command for the
 * devices of a fleet verifier, `vigil verifierd`, through its operator API on a Unix socket
 * (docs/fleet-protocol.md, "Operator API"; plain HTTP, the socket's file mode is the access
 * control).
 *
 * Everything the command line says is checked before any request is made (device ids, policy
 * names, the pull address, the interval), so a usage error never reaches verifierd. Replies
 * are untrusted input: bounded (REPLY_MAX), parsed strictly (vigil_json_parse()), and every
 * string from them that reaches a terminal has its control characters and invalid UTF-8
 * replaced by '?', so a device reason cannot move the cursor or retitle the window.
 *
 * Exit codes: 0 done; 1 verifierd refused (a 4xx error reply: not_found, busy, ...); 2 usage;
 * 3 no answer (socket missing, connection, timeout), a 5xx, or a reply that does not parse.
 *
 * Invariants: nothing is printed on stdout unless the request succeeded; every failure is one
 * "vigil fleet <sub>: <what>: <why>" line on stderr. --json prints the server's JSON as it
 * came (after checking that it is JSON), pretty-printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "http.h"
#include "policy.h"
#include "proto.h"
#include "store.h"

#define SOCKET_DEFAULT "/run/vigil/verifierd.sock"
#define SOCKET_ENV "VIGIL_FLEET_SOCKET"
#define TIMEOUT_MS 30000
#define REPLY_MAX ((size_t)64 << 20) /* a long history with large verdicts */
#define INTERVAL_MIN 100
#define INTERVAL_MAX 86400000
#define INTERVAL_DEFAULT 2000
#define FAILURES_SHOWN 16 /* per verdict in `show`; --json has them all */
#define CELL_MAX 160 /* bytes of one cell of the `list` table */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- command line ---- */

static const struct option options[] = {
	{ "push", no_argument, NULL, 'P' },
	{ "pull", required_argument, NULL, 'L' },
	{ "policy", required_argument, NULL, 'p' },
	{ "interval", required_argument, NULL, 'i' },
	{ "device", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* What a subcommand's command line said; the options it does not take stay NULL/false. */
struct args {
	const char *cmd; /* "fleet add", for messages */
	const char *socket;
	const char *pull;
	const char *policy;
	const char *device;
	const char *interval;
	bool push;
	bool json;
	bool help;
	const char *operand[2];
	int operands;
};

/**
 * struct sub - one subcommand
 * @cmd: "fleet <name>"
 * @synopsis: its usage line(s) after "Usage: vigil "
 * @help: what it does, for --help
 * @opts: its own options, for --help
 * @accepts: the short codes of getopt's options it takes besides --socket and --help
 * @min: operands it needs
 * @max: operands it takes
 * @missing: what the usage calls the first missing operand
 * @run: does it, once the command line has been read
 */
struct sub {
	const char *cmd;
	const char *synopsis;
	const char *help;
	const char *opts;
	const char *accepts;
	int min;
	int max;
	const char *missing;
	int (*run)(const struct args *a);
};

static void show_usage(const struct sub *s, FILE *f)
{
	fprintf(f,
		"Usage: vigil %s\n\n%s\nOptions:\n%s"
		"  --socket PATH     verifierd's operator socket (default: $" SOCKET_ENV ",\n"
		"                    else " SOCKET_DEFAULT ")\n"
		"  -h, --help        show this help\n",
		s->synopsis, s->help, s->opts);
}

static int take_option(const struct sub *s, int c, char *argv[], struct args *a)
{
	if (c == '?' || c == ':')
		return cmd_option_error(s->cmd, argv, c == ':');
	if (c != 's' && c != 'h' && !strchr(s->accepts, c)) {
		/* named from the table: argv[optind - 1] may be the option's argument */
		char name[16] = "";

		for (size_t i = 0; options[i].name; i++)
			if (options[i].val == c)
				snprintf(name, sizeof(name), "--%s", options[i].name);
		return cmd_usage_error(s->cmd, "invalid option", name);
	}
	if (c == 's')
		a->socket = optarg;
	else if (c == 'h')
		a->help = true;
	else if (c == 'P')
		a->push = true;
	else if (c == 'L')
		a->pull = optarg;
	else if (c == 'p')
		a->policy = optarg;
	else if (c == 'i')
		a->interval = optarg;
	else if (c == 'd')
		a->device = optarg;
	else if (c == 'j')
		a->json = true;
	return 0;
}

/* Read a subcommand's command line; a->help set means --help was printed. */
static int parse_args(const struct sub *s, int argc, char *argv[], struct args *a)
{
	int c, r;

	*a = (struct args){ .cmd = s->cmd };
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		r = take_option(s, c, argv, a);
		if (r)
			return r;
		if (a->help) {
			show_usage(s, stdout);
			return 0;
		}
	}
	if (argc - optind < s->min)
		return cmd_usage_error(s->cmd, "missing argument", s->missing);
	if (argc - optind > s->max)
		return cmd_usage_error(s->cmd, "unexpected argument", argv[optind + s->max]);
	for (a->operands = 0; optind + a->operands < argc; a->operands++)
		a->operand[a->operands] = argv[optind + a->operands];
	return 0;
}

static int check_device_id(const char *cmd, const char *id)
{
	if (vigil_device_id_valid(id))
		return 0;
	return cmd_usage_error(cmd,
			       "invalid device id (1..64 of [A-Za-z0-9._-], not starting with "
			       "'.' or '-')",
			       id);
}

/*
 * A policy name as policy documents have it, 1..VIGIL_POLICY_NAME_MAX of [A-Za-z0-9._-]; it
 * is a path segment of the request, so "." and ".." (which an HTTP client folds away) are
 * refused too.
 */
static int check_policy_name(const char *cmd, const char *name)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= VIGIL_POLICY_NAME_MAX && strcmp(name, ".") != 0 &&
		  strcmp(name, "..") != 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		     (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i]);
	if (ok)
		return 0;
	return cmd_usage_error(cmd, "invalid policy name (1..128 of [A-Za-z0-9._-])", name);
}

/*
 * The socket: --socket, else $VIGIL_FLEET_SOCKET, else the default. It must fit sun_path, and
 * be absolute without ":/" in it, so that the "unix:SOCKET:/PATH" URL of http.h is unambiguous.
 */
static const char *socket_path(const struct args *a)
{
	const char *env = getenv(SOCKET_ENV);
	const char *path = a->socket ? a->socket : env && env[0] ? env : SOCKET_DEFAULT;
	struct sockaddr_un sun;

	if (path[0] != '/' || strstr(path, ":/") || strlen(path) >= sizeof(sun.sun_path)) {
		cmd_usage_error(a->cmd,
				"invalid socket path (absolute, at most 107 bytes, no \":/\")",
				path);
		return NULL;
	}
	return path;
}

/* ---- text a server sent, made safe for a terminal ---- */

/* Bytes of the character at @u, and whether it may reach a terminal as it is. */
static size_t char_at(const unsigned char *u, size_t avail, bool *printable)
{
	size_t n;

	if (u[0] < 0x80) {
		*printable = u[0] >= 0x20 && u[0] != 0x7f;
		return 1;
	}
	n = vigil_utf8_seq(u, avail);
	*printable = n && !(u[0] == 0xc2 && u[1] < 0xa0); /* U+0080..U+009F: C1 controls */
	return n ? n : 1;
}

/* @s into @out (@size bytes), cut on a character boundary, unsafe characters as '?'; returns
 * the columns it takes (one per character). */
static size_t safe_copy(const char *s, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), len = 0, cols = 0;

	for (size_t i = 0; i < n;) {
		bool printable;
		size_t k = char_at(u + i, n - i, &printable);
		size_t w = printable ? k : 1;

		if (len + w >= size)
			break;
		if (printable)
			memcpy(out + len, s + i, k);
		else
			out[len] = '?';
		len += w;
		cols++;
		i += k;
	}
	out[len] = '\0';
	return cols;
}

static void put_safe(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		bool printable;
		size_t k = char_at(u + i, n - i, &printable);

		if (printable)
			fwrite(s + i, 1, k, stdout);
		else
			putchar('?');
		i += k;
	}
}

/* ---- requests ---- */

static void session_freep(struct vigil_http_session **s)
{
	vigil_http_session_free(*s);
}

/* A request that got no answer: say why, with what the socket itself tells. */
static int transport_error(const struct args *a, const char *sock, int r, const char *err)
{
	if (access(sock, F_OK) < 0 && errno == ENOENT)
		fprintf(stderr, "vigil %s: %s: no such socket (is vigil verifierd running?)\n",
			a->cmd, sock);
	else if (r == -EFBIG)
		fprintf(stderr, "vigil %s: %s: reply larger than %zu bytes\n", a->cmd, sock,
			REPLY_MAX);
	else if (access(sock, R_OK | W_OK) < 0 && errno == EACCES)
		fprintf(stderr, "vigil %s: %s: %s\n", a->cmd, sock, strerror(EACCES));
	else if (r == -ECONNREFUSED)
		fprintf(stderr, "vigil %s: %s: %s (is vigil verifierd running?)\n", a->cmd, sock,
			strerror(ECONNREFUSED));
	else
		fprintf(stderr, "vigil %s: %s: %s\n", a->cmd, sock, err[0] ? err : strerror(-r));
	return VIGIL_EXIT_RUNTIME;
}

/* A reply >= 300: a refusal (4xx with an error body) is 1, anything else 3. */
static int error_reply(const struct args *a, int status, const char *body, size_t len)
{
	struct vigil_msg_error e;
	char code[sizeof(e.error)], detail[sizeof(e.detail)];

	if (status < 400 || vigil_msg_error_parse(body, len, &e) < 0) {
		fprintf(stderr, "vigil %s: verifierd answered %d without an error reply\n", a->cmd,
			status);
		return VIGIL_EXIT_RUNTIME;
	}
	safe_copy(e.error, code, sizeof(code));
	safe_copy(e.detail, detail, sizeof(detail));
	fprintf(stderr, "vigil %s: %s: %s\n", a->cmd, code, detail[0] ? detail : "(no detail)");
	return status < 500 ? VIGIL_EXIT_REJECTED : VIGIL_EXIT_RUNTIME;
}

/*
 * One request on the operator socket; a 2xx reply's body (NUL-terminated, free()) goes to
 * *@ret_body. Every other outcome is reported here and its exit code returned.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): method, path, body: HTTP's order */
static int request(const struct args *a, const char *method, const char *path, const char *body,
		   size_t len, char **ret_body, size_t *ret_len)
{
	_cleanup_(session_freep) struct vigil_http_session *s = NULL;
	_cleanup_free_ char *url = NULL, *reply = NULL;
	const char *sock = socket_path(a);
	char err[256] = "";
	int status = 0, r;

	if (!sock)
		return VIGIL_EXIT_USAGE;
	if (asprintf(&url, "unix:%s:%s", sock, path) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_http_session_new(NULL, &s);
	if (r == 0)
		r = vigil_http_session_call(s, method, url, body, len, TIMEOUT_MS, REPLY_MAX,
					    &status, &reply, err, sizeof(err));
	if (r < 0)
		return transport_error(a, sock, r, err);
	if (!reply) /* vigil_http_session_call() gives "" for an empty body: never taken */
		return transport_error(a, sock, -EIO, "");
	if (status < 200 || status > 299)
		return error_reply(a, status, reply, strlen(reply));
	*ret_len = strlen(reply);
	*ret_body = TAKE_PTR(reply);
	return 0;
}

/* A 2xx reply that must be a JSON object. */
static int request_json(const struct args *a, const char *method, const char *path,
			const char *body, size_t len, struct json_object **ret)
{
	_cleanup_free_ char *reply = NULL;
	struct json_object *o = NULL;
	size_t n = 0;
	int r = request(a, method, path, body, len, &reply, &n);

	if (r)
		return r;
	r = vigil_json_parse(reply, n, REPLY_MAX, &o);
	if (r == -ENOMEM) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0 || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fprintf(stderr, "vigil %s: verifierd's reply is not a JSON object\n", a->cmd);
		return VIGIL_EXIT_RUNTIME;
	}
	*ret = o;
	return 0;
}

static int print_json(const struct args *a, struct json_object *o)
{
	_cleanup_free_ char *text = NULL;

	if (vigil_json_format(o, &text) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	fputs(text, stdout);
	return VIGIL_EXIT_OK;
}

/* ---- a device status (vigil_msg_device_status_format()) ---- */

enum { T_ID, T_MODE, T_ADDRESS, T_POLICY, T_STATE, T_LAST_REASON, T_COUNT };
enum { N_INTERVAL, N_POLICY_VERSION, N_LAST_MS, N_FAILURES, N_COUNT };
enum { C_NEXT, C_RESET, C_RESTART, C_COUNT };
enum { E_EK_HASH, E_EK_CERT, E_AK_KEYID, E_COUNT };

static const char *const text_keys[T_COUNT] = { "id",	  "mode",  "address",
						"policy", "state", "last_reason" };
static const char *const num_keys[N_COUNT] = { "interval_ms", "policy_version", "last_ms",
					       "failures" };
static const char *const cursor_keys[C_COUNT] = { "next", "reset_count", "restart_count" };
static const char *const enroll_keys[E_COUNT] = { "ek_hash", "ek_cert_fingerprint", "ak_keyid" };

/* The members of one device status that `vigil fleet` shows, all required. */
struct status {
	const char *text[T_COUNT];
	uint64_t num[N_COUNT];
	bool enrolled;
	const char *enroll[E_COUNT]; /* when enrolled */
	uint64_t cursor[C_COUNT];
	bool cursor_valid;
	struct json_object *history; /* or NULL */
};

static struct json_object *member(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* Strings of @keys into @out; NULL, or the first member missing or of another type. */
static const char *read_texts(struct json_object *o, const char *const *keys, size_t n,
			      const char **out)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = member(o, keys[i], json_type_string);

		if (!v)
			return keys[i];
		out[i] = json_object_get_string(v);
	}
	return NULL;
}

static const char *read_nums(struct json_object *o, const char *const *keys, size_t n,
			     uint64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = member(o, keys[i], json_type_int);

		if (!v)
			return keys[i];
		out[i] = json_object_get_uint64(v); /* a negative time reads as 0: never */
	}
	return NULL;
}

/* Fill @s from @o; NULL, or the name of the member that is missing or malformed. */
static const char *read_status(struct json_object *o, struct status *s)
{
	struct json_object *enrolled = member(o, "enrolled", json_type_boolean);
	struct json_object *cursor = member(o, "cursor", json_type_object);
	struct json_object *valid = member(cursor, "valid", json_type_boolean);
	const char *bad;

	*s = (struct status){ 0 };
	bad = read_texts(o, text_keys, T_COUNT, s->text);
	if (!bad)
		bad = read_nums(o, num_keys, N_COUNT, s->num);
	if (!bad && !enrolled)
		bad = "enrolled";
	s->enrolled = !bad && json_object_get_boolean(enrolled);
	if (!bad && s->enrolled)
		bad = read_texts(o, enroll_keys, E_COUNT, s->enroll);
	if (!bad && (!cursor || !valid))
		bad = "cursor";
	if (!bad)
		bad = read_nums(cursor, cursor_keys, C_COUNT, s->cursor);
	s->cursor_valid = !bad && json_object_get_boolean(valid);
	if (!bad && json_object_object_get_ex(o, "history", NULL)) {
		s->history = member(o, "history", json_type_array);
		bad = s->history ? NULL : "history";
	}
	return bad;
}

static int malformed(const struct args *a, const char *what)
{
	fprintf(stderr, "vigil %s: verifierd's reply: \"%s\" missing or malformed\n", a->cmd, what);
	return VIGIL_EXIT_RUNTIME;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a time in ms since the epoch, "-" for 0 (never). */
static void format_ms(uint64_t ms, char *buf, size_t size)
{
	if (!ms)
		snprintf(buf, size, "-");
	else
		cmd_format_time((int64_t)(ms / 1000), buf, size);
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): key, then value, as printed */
static void print_line(const char *key, const char *value)
{
	printf("%s: ", key);
	put_safe(value[0] ? value : "-");
	putchar('\n');
}

static void print_status(const struct status *s)
{
	static const char *const enroll_names[E_COUNT] = { "ek hash", "ek certificate fingerprint",
							   "ak key id" };
	char last[32];

	print_line("id", s->text[T_ID]);
	print_line("mode", s->text[T_MODE]);
	print_line("address", s->text[T_ADDRESS]);
	print_line("policy", s->text[T_POLICY]);
	printf("policy version: %llu\n", (unsigned long long)s->num[N_POLICY_VERSION]);
	printf("interval: %llu ms\n", (unsigned long long)s->num[N_INTERVAL]);
	print_line("state", s->text[T_STATE]);
	printf("enrolled: %s\n", s->enrolled ? "yes" : "no");
	for (size_t i = 0; i < E_COUNT; i++)
		print_line(enroll_names[i], s->enrolled ? s->enroll[i] : "");
	printf("cursor next: %llu\n", (unsigned long long)s->cursor[C_NEXT]);
	printf("cursor reset count: %llu\n", (unsigned long long)s->cursor[C_RESET]);
	printf("cursor restart count: %llu\n", (unsigned long long)s->cursor[C_RESTART]);
	printf("cursor valid: %s\n", s->cursor_valid ? "yes" : "no");
	format_ms(s->num[N_LAST_MS], last, sizeof(last));
	printf("last: %s\n", last);
	print_line("last reason", s->text[T_LAST_REASON]);
	printf("failures: %llu\n", (unsigned long long)s->num[N_FAILURES]);
}

/* One record a verdict did not allow: {"index", "path", "reason"[, "warning"]}. */
static void print_failure(struct json_object *f)
{
	struct json_object *index = member(f, "index", json_type_int);
	struct json_object *path = member(f, "path", json_type_string);
	struct json_object *reason = member(f, "reason", json_type_string);
	struct json_object *warning = member(f, "warning", json_type_boolean);

	if (index)
		printf("      record %llu ", (unsigned long long)json_object_get_uint64(index));
	else
		printf("      record ? ");
	put_safe(reason ? json_object_get_string(reason) : "?");
	if (warning && json_object_get_boolean(warning))
		printf(" (warning)");
	putchar(' ');
	put_safe(path ? json_object_get_string(path) : "?");
	putchar('\n');
}

static void print_failures(struct json_object *verdict)
{
	struct json_object *list = member(verdict, "failures", json_type_array);
	size_t n = list ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n && i < FAILURES_SHOWN; i++)
		print_failure(json_object_array_get_idx(list, i));
	if (n > FAILURES_SHOWN)
		printf("      ... %zu more (--json shows them all)\n", n - FAILURES_SHOWN);
}

/* One verdict of the history (vigil_msg_device_status_format()). */
struct attestation {
	uint64_t num[4]; /* seq, time_ms, from, to */
	const char *text[2]; /* state, reason */
	struct json_object *verdict; /* or NULL (a missed attestation) */
};

static const char *read_attestation(struct json_object *h, struct attestation *at)
{
	static const char *const nums[] = { "seq", "time_ms", "from", "to" };
	static const char *const texts[] = { "state", "reason" };
	const char *bad;

	if (!json_object_is_type(h, json_type_object))
		return "history";
	bad = read_nums(h, nums, ARRAY_SIZE(nums), at->num);
	if (!bad)
		bad = read_texts(h, texts, ARRAY_SIZE(texts), at->text);
	at->verdict = member(h, "verdict", json_type_object);
	return bad;
}

/* seq, time, state, reason, records from..to, then the records the verdict refused. */
static void print_attestation(const struct attestation *at)
{
	char time[32];

	format_ms(at->num[1], time, sizeof(time));
	printf("  %llu %s ", (unsigned long long)at->num[0], time);
	put_safe(at->text[0]);
	putchar(' ');
	put_safe(at->text[1]);
	printf(" records %llu..%llu\n", (unsigned long long)at->num[2],
	       (unsigned long long)at->num[3]);
	print_failures(at->verdict);
}

/*
 * A status reply: --json as it came, else "key: value" lines, and with @history (show) its
 * verdicts ("none" when the reply has none). Everything is checked before anything is
 * printed, so a malformed reply prints nothing on stdout.
 */
static int show_status(const struct args *a, struct json_object *o, bool history)
{
	struct attestation at;
	struct status s;
	const char *bad;
	size_t n;

	if (a->json)
		return print_json(a, o);
	bad = read_status(o, &s);
	n = s.history && !bad ? json_object_array_length(s.history) : 0;
	for (size_t i = 0; !bad && i < n; i++)
		bad = read_attestation(json_object_array_get_idx(s.history, i), &at);
	if (bad)
		return malformed(a, bad);
	print_status(&s);
	if (history || s.history)
		printf("history:%s\n", n ? "" : " none");
	for (size_t i = 0; i < n; i++) {
		if (!read_attestation(json_object_array_get_idx(s.history, i), &at))
			print_attestation(&at);
	}
	return VIGIL_EXIT_OK;
}

/* ---- list: a table ---- */

enum { COL_ID, COL_MODE, COL_STATE, COL_POLICY, COL_LAST, COL_REASON, COL_FAILURES, COLS };

static const char *const headers[COLS] = { "ID",   "MODE",   "STATE",	"POLICY",
					   "LAST", "REASON", "FAILURES" };

struct row {
	char cell[COLS][CELL_MAX];
	size_t width[COLS];
};

static void make_row(const struct status *s, struct row *row)
{
	const char *reason = s->text[T_LAST_REASON][0] ? s->text[T_LAST_REASON] : "-";
	char policy[CELL_MAX], last[32], failures[24];
	const char *cell[COLS];

	if (s->text[T_POLICY][0])
		snprintf(policy, sizeof(policy), "%.128s(v%llu)", s->text[T_POLICY],
			 (unsigned long long)s->num[N_POLICY_VERSION]);
	else
		snprintf(policy, sizeof(policy), "-");
	format_ms(s->num[N_LAST_MS], last, sizeof(last));
	snprintf(failures, sizeof(failures), "%llu", (unsigned long long)s->num[N_FAILURES]);
	cell[COL_ID] = s->text[T_ID];
	cell[COL_MODE] = s->text[T_MODE];
	cell[COL_STATE] = s->text[T_STATE];
	cell[COL_POLICY] = policy;
	cell[COL_LAST] = last;
	cell[COL_REASON] = reason;
	cell[COL_FAILURES] = failures;
	for (size_t c = 0; c < COLS; c++)
		row->width[c] = safe_copy(cell[c], row->cell[c], CELL_MAX);
}

/* Cells padded to @col columns plus two spaces, the last one not. */
static void print_row(const struct row *row, const size_t *col)
{
	for (size_t c = 0; c < COLS; c++) {
		fputs(row->cell[c], stdout);
		for (size_t k = row->width[c]; c + 1 < COLS && k < col[c] + 2; k++)
			putchar(' ');
	}
	putchar('\n');
}

/*
 * Two passes over the devices, each making one row at a time: the first checks every status
 * and measures the columns, the second prints; memory stays one row however large the fleet.
 */
static int list_pass(const struct args *a, struct json_object *devices, size_t *col, bool print)
{
	size_t n = json_object_array_length(devices);

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(devices, i);
		struct status s;
		struct row row;
		const char *bad = json_object_is_type(d, json_type_object) ? read_status(d, &s) :
									     "devices";

		if (bad)
			return malformed(a, bad);
		make_row(&s, &row);
		for (size_t c = 0; !print && c < COLS; c++)
			if (row.width[c] > col[c])
				col[c] = row.width[c];
		if (print)
			print_row(&row, col);
	}
	return VIGIL_EXIT_OK;
}

static int show_list(const struct args *a, struct json_object *o)
{
	struct json_object *devices = member(o, "devices", json_type_array);
	struct row header;
	size_t col[COLS];
	int r;

	if (a->json)
		return print_json(a, o);
	if (!devices)
		return malformed(a, "devices");
	for (size_t c = 0; c < COLS; c++)
		col[c] = header.width[c] = safe_copy(headers[c], header.cell[c], CELL_MAX);
	r = list_pass(a, devices, col, false);
	if (r)
		return r;
	print_row(&header, col);
	return list_pass(a, devices, col, true);
}

/* ---- the subcommands ---- */

static int fleet_list_run(const struct args *a)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	int r = request_json(a, "GET", "/v1/devices", NULL, 0, &o);

	return r ? r : show_list(a, o);
}

static int fleet_show_run(const struct args *a)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *path = NULL;
	int r = check_device_id(a->cmd, a->operand[0]);

	if (r)
		return r;
	if (asprintf(&path, "/v1/devices/%s", a->operand[0]) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	r = request_json(a, "GET", path, NULL, 0, &o);
	return r ? r : show_status(a, o, true);
}

static int fleet_remove_run(const struct args *a)
{
	_cleanup_free_ char *path = NULL, *reply = NULL;
	size_t n = 0;
	int r = check_device_id(a->cmd, a->operand[0]);

	if (r)
		return r;
	if (asprintf(&path, "/v1/devices/%s", a->operand[0]) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	return request(a, "DELETE", path, NULL, 0, &reply, &n);
}

/* add's command line as the device description POST /v1/devices takes; usage errors. */
static int device_of(const struct args *a, struct vigil_msg_device *m)
{
	uint32_t interval = INTERVAL_DEFAULT;
	int r = check_device_id(a->cmd, a->operand[0]);

	if (r)
		return r;
	if (a->push == !!a->pull)
		return cmd_usage_error(a->cmd, "give exactly one of", "--push, --pull HOST:PORT");
	if (a->policy && (r = check_policy_name(a->cmd, a->policy)))
		return r;
	if (a->interval && (cmd_parse_u32(a->interval, &interval) < 0 || interval < INTERVAL_MIN ||
			    interval > INTERVAL_MAX))
		return cmd_usage_error(a->cmd, "interval out of range (100..86400000 ms)",
				       a->interval);
	if (a->pull && strlen(a->pull) >= sizeof(m->address))
		return cmd_usage_error(a->cmd, "address too long", a->pull);
	*m = (struct vigil_msg_device){ .mode = a->pull ? VIGIL_MODE_PULL : VIGIL_MODE_PUSH,
					.interval_ms = interval };
	snprintf(m->id, sizeof(m->id), "%s", a->operand[0]);
	snprintf(m->address, sizeof(m->address), "%s", a->pull ? a->pull : "");
	snprintf(m->policy, sizeof(m->policy), "%s", a->policy ? a->policy : "");
	return 0;
}

static int fleet_add_run(const struct args *a)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *body = NULL;
	struct vigil_msg_device m;
	int r = device_of(a, &m);

	if (r)
		return r;
	r = vigil_msg_device_format(&m, &body);
	/* Everything else was checked above: what the formatter refuses is the address. */
	if (r == -EINVAL)
		return cmd_usage_error(a->cmd, "invalid address (HOST:PORT or [IPv6]:PORT)",
				       a->pull);
	if (r < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = request_json(a, "POST", "/v1/devices", body, strlen(body), &o);
	return r ? r : show_status(a, o, false);
}

/* PUT /v1/devices/ID/policy {"policy": NAME}: the device is verified against NAME. */
static int assign_policy(const struct args *a)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct vigil_msg_policy_ref m = { 0 };
	int r = check_device_id(a->cmd, a->device);

	if (r)
		return r;
	snprintf(m.policy, sizeof(m.policy), "%s", a->operand[0]);
	if (vigil_msg_policy_ref_format(&m, &text) < 0 ||
	    asprintf(&path, "/v1/devices/%s/policy", a->device) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	r = request_json(a, "PUT", path, text, strlen(text), &o);
	return r ? r : show_status(a, o, false);
}

/* PUT /v1/policies/NAME with the DSSE envelope; verifierd checks signature and version. */
static int upload_policy(const struct args *a)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ uint8_t *envelope = NULL;
	_cleanup_free_ char *path = NULL;
	struct json_object *name, *version;
	size_t len = 0;
	int r;

	if (cmd_read_file(a->cmd, a->operand[1], VIGIL_POLICY_ENVELOPE_MAX, &envelope, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	if (asprintf(&path, "/v1/policies/%s", a->operand[0]) < 0) {
		fprintf(stderr, "vigil %s: %s\n", a->cmd, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	r = request_json(a, "PUT", path, (const char *)envelope, len, &o);
	if (r)
		return r;
	if (a->json)
		return print_json(a, o);
	name = member(o, "name", json_type_string);
	version = member(o, "version", json_type_int);
	if (!name || !version)
		return malformed(a, name ? "version" : "name");
	print_line("name", json_object_get_string(name));
	printf("version: %llu\n", (unsigned long long)json_object_get_uint64(version));
	return VIGIL_EXIT_OK;
}

static int fleet_policy_run(const struct args *a)
{
	int r = check_policy_name(a->cmd, a->operand[0]);

	if (r)
		return r;
	if (a->device && a->operands == 2)
		return cmd_usage_error(a->cmd, "--device assigns a stored policy; unexpected",
				       a->operand[1]);
	if (!a->device && a->operands == 1)
		return cmd_usage_error(a->cmd, "missing argument", "P.dsse or --device ID");
	return a->device ? assign_policy(a) : upload_policy(a);
}

static const struct sub subs[] = {
	{ "fleet add",
	  "fleet add ID (--push | --pull HOST:PORT) [--policy NAME] [--interval MS] [--json]",
	  "Register a device with verifierd: ID is the CN of its TLS client certificate; it\n"
	  "enrolls itself when its agent first connects. Prints the new device's status.\n",
	  "  --push            the agent connects (devices that accept no connections)\n"
	  "  --pull HOST:PORT  verifierd connects to the agent there\n"
	  "  --policy NAME     verify it against this signed policy (vigil fleet policy)\n"
	  "  --interval MS     attestation interval, 100..86400000 (default 2000)\n"
	  "  --json            print verifierd's reply as JSON\n",
	  "PLpij", 1, 1, "ID", fleet_add_run },
	{ "fleet list", "fleet list [--json]",
	  "List the devices: id, mode, state, policy (and the version accepted), the time of\n"
	  "the last attestation (UTC), its reason, consecutive failures.\n",
	  "  --json            print verifierd's reply as JSON\n", "j", 0, 0, "", fleet_list_run },
	{ "fleet show", "fleet show ID [--json]",
	  "Show a device: configuration, enrollment, cursor, and its last verdicts with\n"
	  "their reasons and the records they rejected.\n",
	  "  --json            print verifierd's reply as JSON\n", "j", 1, 1, "ID",
	  fleet_show_run },
	{ "fleet remove", "fleet remove ID",
	  "Remove a device, its enrollment and its history. Prints nothing.\n", "", "", 1, 1, "ID",
	  fleet_remove_run },
	{ "fleet policy",
	  "fleet policy NAME P.dsse [--json]\n       vigil fleet policy NAME --device ID [--json]",
	  "Upload a signed policy (verifierd accepts it only signed by a key it trusts and\n"
	  "newer than the version it has), or verify a device against the policy NAME.\n",
	  "  --device ID       assign policy NAME to device ID\n"
	  "  --json            print verifierd's reply as JSON\n",
	  "dj", 1, 2, "NAME", fleet_policy_run },
};

enum { SUB_ADD, SUB_LIST, SUB_SHOW, SUB_REMOVE, SUB_POLICY };

static int run_sub(const struct sub *s, int argc, char *argv[])
{
	struct args a;
	int r = parse_args(s, argc, argv, &a);

	if (r || a.help)
		return r;
	return s->run(&a);
}

static int fleet_add(int argc, char *argv[])
{
	return run_sub(&subs[SUB_ADD], argc, argv);
}

static int fleet_list(int argc, char *argv[])
{
	return run_sub(&subs[SUB_LIST], argc, argv);
}

static int fleet_show(int argc, char *argv[])
{
	return run_sub(&subs[SUB_SHOW], argc, argv);
}

static int fleet_remove(int argc, char *argv[])
{
	return run_sub(&subs[SUB_REMOVE], argc, argv);
}

static int fleet_policy(int argc, char *argv[])
{
	return run_sub(&subs[SUB_POLICY], argc, argv);
}

static const struct cmd_sub subcommands[] = {
	{ "add", fleet_add, "register a device (push or pull)" },
	{ "list", fleet_list, "list the devices and their attestation state" },
	{ "show", fleet_show, "show a device and its last verdicts" },
	{ "remove", fleet_remove, "remove a device" },
	{ "policy", fleet_policy, "upload a signed policy, or assign one to a device" },
};

/*
 * `vigil fleet --socket PATH <sub> ...`: the global option is handed to the subcommand, which
 * takes --socket too, by moving the subcommand's name in front of it.
 */
static int move_subcommand(int argc, char *argv[])
{
	int i = 1;

	while (i < argc && (!strcmp(argv[i], "--socket") || !strncmp(argv[i], "--socket=", 9))) {
		if (!strcmp(argv[i], "--socket") && i + 1 >= argc)
			return cmd_usage_error("fleet", "option needs an argument", argv[i]);
		i += strcmp(argv[i], "--socket") ? 1 : 2;
	}
	if (i > 1 && i < argc) {
		char *sub = argv[i];

		memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
		argv[1] = sub;
	}
	return i < argc ? 0 : -1;
}

/**
 * cmd_fleet() - the `vigil fleet` command: manage the devices of `vigil verifierd`
 * @argc: argument count, including argv[0] ("fleet")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_REJECTED (verifierd refused the request),
 * VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME (no usable answer from verifierd).
 */
int cmd_fleet(int argc, char *argv[])
{
	int r = move_subcommand(argc, argv);

	if (r > 0)
		return r;
	r = cmd_dispatch("fleet", r < 0 ? 1 : argc, argv, subcommands, ARRAY_SIZE(subcommands));
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		printf("\nOptions:\n  --socket PATH  verifierd's operator socket (default: "
		       "$" SOCKET_ENV ", else\n                 " SOCKET_DEFAULT ")\n");
	return r;
}
