// SPDX-License-Identifier: MIT
/*
 * cmd_verifierd.c: `vigil verifierd`, the fleet verifier (docs/fleet-protocol.md): options,
 * start-up, the event loop and shutdown. What it does per request and per device is in
 * verifierd_*.c (verifierd.h lists them).
 *
 * Start-up opens (and migrates) the database, loads the keys, binds the agents' TLS listener
 * and the operator's Unix socket, starts the alert thread and the schedule, and prints one line
 * saying where it listens (the port bound, for --listen HOST:0). SIGTERM/SIGINT end the loop;
 * the leases this process holds are released so another verifierd takes its devices at once.
 * After a SIGKILL the leases expire instead (--lease).
 *
 * Invariants: exits 2 for a bad command line, 3 when it cannot start or its database fails,
 * 0 after a signal.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cleanup.h"
#include "cmd.h"
#include "uapi/vigil.h"
#include "verifierd.h"

#define CMD "verifierd"
#define DEFAULT_DB "/var/lib/vigil/verifierd.db"
#define DEFAULT_SOCKET "/run/vigil/verifierd.sock"
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define DEFAULT_PCRS "sha256:" STRINGIFY(VIGIL_DEFAULT_PCR)

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil verifierd --tls-cert F --tls-key F --tls-ca F --ek-ca DIR\n"
		"                       [--listen HOST:PORT] [--socket PATH] [--db URI]\n"
		"                       [--trust KEY.pub]... [--alert-key KEY.pem] [--webhook URL]\n"
		"                       [options]\n\n"
		"Attest a fleet of devices continuously (vigil agent on each).\n\n"
		"Options:\n"
		"  --db URI            SQLite file (sqlite:PATH or PATH) or postgresql://...\n"
		"                      (default: %s)\n"
		"  --listen HOST:PORT  the agents' TLS listener (push mode and enrollment)\n"
		"  --socket PATH       the operator's socket for vigil fleet (default: %s)\n"
		"  --tls-cert F, --tls-key F, --tls-ca F\n"
		"                      this verifier's certificate and key, the fleet CA\n"
		"  --ek-ca DIR         CA certificates that EK certificates must chain to\n"
		"  --trust KEY.pub     a policy-signing key (repeatable, up to %d)\n"
		"  --alert-key KEY.pem ES256 key that signs alerts (JWS)\n"
		"  --webhook URL       POST every alert there (http:// or https://)\n"
		"  --pcrs SEL          PCRs to quote (default: %s); the log extends --pcr\n"
		"  --pcr N             the PCR the measurement log extends (default: %d)\n"
		"  --interval MS       default attestation interval (default: 2000)\n"
		"  --lease MS          device lease (default: 3 x interval, at least 6000)\n"
		"  --grace MS          a push device is missed this late (default: interval)\n"
		"  --max-inflight N    pull requests in flight at once (default: 4096)\n"
		"  --max-body BYTES    largest evidence (default: 16 MiB)\n"
		"  --request-timeout MS, --idle-timeout MS, --max-connections N,\n"
		"  --rate N, --burst N bounds of the listener (docs/fleet-protocol.md)\n"
		"  --owner NAME        this process's lease name (default: host:pid:start)\n"
		"  -h, --help          show this help\n",
		DEFAULT_DB, DEFAULT_SOCKET, VD_TRUST_MAX, DEFAULT_PCRS, VIGIL_DEFAULT_PCR);
}

enum {
	OPT_DB = 256,
	OPT_LISTEN,
	OPT_SOCKET,
	OPT_CERT,
	OPT_KEY,
	OPT_CA,
	OPT_EK_CA,
	OPT_TRUST,
	OPT_ALERT_KEY,
	OPT_WEBHOOK,
	OPT_PCRS,
	OPT_PCR,
	OPT_INTERVAL,
	OPT_LEASE,
	OPT_GRACE,
	OPT_INFLIGHT,
	OPT_MAX_BODY,
	OPT_REQUEST,
	OPT_IDLE,
	OPT_CONNS,
	OPT_RATE,
	OPT_BURST,
	OPT_OWNER,
};

static int number(const char *arg, uint32_t min, uint32_t *ret)
{
	uint32_t v;

	if (cmd_parse_u32(arg, &v) < 0 || v < min)
		return cmd_usage_error(CMD, "bad number", arg);
	*ret = v;
	return 0;
}

static int parse_string(int c, struct vd_options *o)
{
	switch (c) {
	case OPT_DB:
		o->db = optarg;
		return 0;
	case OPT_LISTEN: {
		const char *colon = strrchr(optarg, ':');
		uint32_t port;

		if (!colon || colon == optarg || colon - optarg >= 256 ||
		    cmd_parse_u32(colon + 1, &port) < 0 || port > 65535)
			return cmd_usage_error(CMD, "--listen wants HOST:PORT", optarg);
		o->listen = optarg;
		return 0;
	}
	case OPT_SOCKET:
		o->socket = optarg;
		return 0;
	case OPT_CERT:
		o->tls.cert = optarg;
		return 0;
	case OPT_KEY:
		o->tls.key = optarg;
		return 0;
	case OPT_CA:
		o->tls.ca = optarg;
		return 0;
	case OPT_EK_CA:
		o->ek_ca = optarg;
		return 0;
	case OPT_ALERT_KEY:
		o->alert_key = optarg;
		return 0;
	case OPT_WEBHOOK:
		o->webhook = optarg;
		return 0;
	case OPT_TRUST:
		if (o->ntrust == VD_TRUST_MAX)
			return cmd_usage_error(CMD, "too many --trust keys", optarg);
		o->trust[o->ntrust++] = optarg;
		return 0;
	case OPT_OWNER:
		if (strlen(optarg) >= sizeof(o->owner) || !optarg[0])
			return cmd_usage_error(CMD, "bad owner name", optarg);
		snprintf(o->owner, sizeof(o->owner), "%s", optarg);
		return 0;
	default:
		return 1;
	}
}

static int parse_number(int c, struct vd_options *o)
{
	uint32_t v = 0;
	int r;

	switch (c) {
	case OPT_PCRS:
		return vigil_pcrsel_parse(optarg, &o->selection) < 0 ?
			       cmd_usage_error(CMD, "bad PCR selection", optarg) :
			       0;
	case OPT_PCR:
		r = number(optarg, 0, &o->log_pcr);
		return r ? r : o->log_pcr < 24 ? 0 : cmd_usage_error(CMD, "bad PCR", optarg);
	case OPT_INTERVAL:
		return number(optarg, 100, &o->interval_ms);
	case OPT_LEASE:
		return number(optarg, 1000, &o->lease_ms);
	case OPT_GRACE:
		return number(optarg, 0, &o->grace_ms);
	case OPT_INFLIGHT:
		return number(optarg, 1, &o->max_inflight);
	case OPT_MAX_BODY:
		r = number(optarg, 4096, &v);
		o->limits.max_body = v;
		return r;
	case OPT_REQUEST:
		return number(optarg, 100, &o->limits.request_ms);
	case OPT_IDLE:
		return number(optarg, 100, &o->limits.idle_ms);
	case OPT_CONNS:
		return number(optarg, 1, &o->limits.max_connections);
	case OPT_RATE:
		return number(optarg, 1, &o->limits.rate_per_s);
	case OPT_BURST:
		return number(optarg, 1, &o->limits.burst);
	default:
		return 1;
	}
}

static int parse_args(int argc, char *argv[], struct vd_options *o)
{
	static const struct option options[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "tls-cert", required_argument, NULL, OPT_CERT },
		{ "tls-key", required_argument, NULL, OPT_KEY },
		{ "tls-ca", required_argument, NULL, OPT_CA },
		{ "ek-ca", required_argument, NULL, OPT_EK_CA },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ "alert-key", required_argument, NULL, OPT_ALERT_KEY },
		{ "webhook", required_argument, NULL, OPT_WEBHOOK },
		{ "pcrs", required_argument, NULL, OPT_PCRS },
		{ "pcr", required_argument, NULL, OPT_PCR },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "lease", required_argument, NULL, OPT_LEASE },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "max-inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "request-timeout", required_argument, NULL, OPT_REQUEST },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-connections", required_argument, NULL, OPT_CONNS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h') {
			show_usage(stdout);
			return -1;
		}
		r = parse_string(c, o);
		if (r == 1)
			r = parse_number(c, o);
		if (r == 1)
			return cmd_option_error(CMD, argv, c == ':');
		if (r)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	if (!o->tls.cert || !o->tls.key || !o->tls.ca)
		return cmd_usage_error(CMD, "missing option", "--tls-cert, --tls-key and --tls-ca");
	if (!o->ek_ca)
		return cmd_usage_error(CMD, "missing option", "--ek-ca");
	if (o->webhook && !o->alert_key)
		return cmd_usage_error(CMD, "--webhook needs", "--alert-key");
	if (!vigil_pcrsel_has(&o->selection, o->log_bank, o->log_pcr))
		return cmd_usage_error(CMD, "--pcrs must select the log's PCR in sha256", "--pcrs");
	return 0;
}

static void defaults(struct vd_options *o)
{
	char host[64] = "verifierd";

	if (!o->lease_ms)
		o->lease_ms = 3 * o->interval_ms > 6000 ? 3 * o->interval_ms : 6000;
	if (!o->grace_ms)
		o->grace_ms = o->interval_ms;
	if (!o->limits.max_body)
		o->limits.max_body = 16u << 20;
	if (!o->limits.request_ms)
		o->limits.request_ms = 10000;
	if (!o->owner[0]) {
		(void)gethostname(host, sizeof(host) - 1);
		snprintf(o->owner, sizeof(o->owner), "%.63s:%d:%lld", host, (int)getpid(),
			 (long long)time(NULL));
	}
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vd *vd = arg;

	(void)sig;
	(void)what;
	vd->stop = true;
	event_base_loopexit(vd->base, NULL);
}

/* The directory a default path lives in (/run/vigil, /var/lib/vigil) may not exist yet. */
static void ensure_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", dir, strerror(errno));
}

static int open_keys(struct vd *vd)
{
	if (cmd_load_trust(CMD, vd->o.trust, vd->o.ntrust, vd->trust) < 0)
		return -EINVAL;
	if (vd->o.alert_key && cmd_load_private(CMD, vd->o.alert_key, &vd->alert_key) < 0)
		return -EINVAL;
	if (vd->alert_key && EVP_PKEY_get_base_id(vd->alert_key) != EVP_PKEY_EC) {
		fprintf(stderr,
			"vigil " CMD ": %s: alerts are signed with ES256: an ECDSA P-256 key\n",
			vd->o.alert_key);
		return -EINVAL;
	}
	return 0;
}

static int open_listeners(struct vd *vd)
{
	char host[256];
	const char *colon;
	uint16_t port = 0;
	uint32_t p;
	int r;

	r = vigil_http_server_new(vd->base, &vd->o.tls, &vd->o.limits, vd_handle, NULL, vd,
				  &vd->server);
	if (r < 0) {
		fprintf(stderr,
			"vigil " CMD
			": %s, %s, %s: not a certificate, its key and a CA (PEM): %s\n",
			vd->o.tls.cert, vd->o.tls.key, vd->o.tls.ca, strerror(-r));
		return r;
	}
	if (vd->o.listen) {
		colon = strrchr(vd->o.listen, ':');
		if (!colon || (size_t)(colon - vd->o.listen) >= sizeof(host) ||
		    cmd_parse_u32(colon + 1, &p) < 0 || p > 65535)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - vd->o.listen), vd->o.listen);
		r = vigil_http_server_listen(vd->server, host, (uint16_t)p, &port);
		if (r < 0) {
			fprintf(stderr, "vigil " CMD ": cannot listen on %s: %s\n", vd->o.listen,
				strerror(-r));
			return r;
		}
	}
	ensure_parent(vd->o.socket);
	r = vigil_http_server_listen_unix(vd->server, vd->o.socket, 0600);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": cannot listen on %s: %s\n", vd->o.socket,
			strerror(-r));
		return r;
	}
	if (vd->o.listen)
		printf("vigil verifierd: listening on %s:%u, ", host, (unsigned int)port);
	else
		printf("vigil verifierd: no agents' listener (pull only), ");
	printf("operator socket %s, owner %s\n", vd->o.socket, vd->o.owner);
	fflush(stdout);
	return 0;
}

static int start(struct vd *vd)
{
	int r;

	if (strncmp(vd->o.db, "postgres", 8) != 0)
		ensure_parent(strncmp(vd->o.db, "sqlite:", 7) ? vd->o.db : vd->o.db + 7);
	r = vigil_store_open(vd->o.db, &vd->db);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", vd->o.db,
			r == -EPROTO ? "database written by a newer vigil" : strerror(-r));
		return r;
	}
	if (open_keys(vd) < 0)
		return -EINVAL;
	vd->base = event_base_new();
	/* 3 priorities: everything at the default 1, the batch write of outcomes at 2 */
	if (!vd->base || event_base_priority_init(vd->base, 3) < 0)
		return -ENOMEM;
	r = vd_batch_start(vd);
	if (r < 0)
		return r;
	r = open_listeners(vd);
	if (r < 0)
		return r;
	r = vigil_http_client_new(vd->base, &vd->o.tls, &vd->client);
	if (r == 0)
		r = vd_alerts_start(vd);
	if (r == 0)
		r = vd_schedule_start(vd);
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": cannot start: %s\n", strerror(-r));
	return r;
}

static int run(struct vd *vd)
{
	struct event *sigterm = evsignal_new(vd->base, SIGTERM, on_signal, vd);
	struct event *sigint = evsignal_new(vd->base, SIGINT, on_signal, vd);
	int r = 0;

	signal(SIGPIPE, SIG_IGN);
	if (!sigterm || !sigint || event_add(sigterm, NULL) < 0 || event_add(sigint, NULL) < 0)
		r = -ENOMEM;
	if (r == 0 && event_base_dispatch(vd->base) < 0)
		r = -EIO;
	vd_batch_stop(vd); /* the outcomes verified are written before the leases go */
	if (vd->db && vigil_store_release(vd->db, vd->o.owner) < 0)
		fprintf(stderr, "vigil " CMD ": could not release leases: %s\n",
			vigil_store_error(vd->db));
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	return r;
}

static void stop(struct vd *vd)
{
	vd_alerts_stop(vd);
	vd_batch_stop(vd);
	if (vd->tick)
		event_free(vd->tick);
	vigil_http_client_free(vd->client);
	vigil_http_server_free(vd->server);
	if (vd->base)
		event_base_free(vd->base);
	vigil_store_close(vd->db);
	for (size_t i = 0; i < vd->o.ntrust; i++)
		EVP_PKEY_free(vd->trust[i]);
	EVP_PKEY_free(vd->alert_key);
	for (size_t i = 0; i < vd->npolicies; i++)
		vigil_policy_free(vd->policies[i].policy);
	free(vd->policies);
	vd_aks_prune(vd, INT64_MAX);
	free(vd->pending);
	free(vd->from0);
	pthread_mutex_destroy(&vd->alert_lock);
	pthread_cond_destroy(&vd->alert_wake);
}

/**
 * cmd_verifierd() - the `vigil verifierd` subcommand
 * @argc: argument count, including argv[0] ("verifierd")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK after a signal, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_verifierd(int argc, char *argv[])
{
	static struct vd vd;
	int r;

	vd.o = (struct vd_options){ .db = DEFAULT_DB,
				    .socket = DEFAULT_SOCKET,
				    .log_bank = TPM2_ALG_SHA256,
				    .log_pcr = VIGIL_DEFAULT_PCR,
				    .interval_ms = 2000,
				    .max_inflight = 4096 };
	if (vigil_pcrsel_parse(DEFAULT_PCRS, &vd.o.selection) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = parse_args(argc, argv, &vd.o);
	if (r)
		return r < 0 ? VIGIL_EXIT_OK : r;
	defaults(&vd.o);
	pthread_mutex_init(&vd.alert_lock, NULL);
	pthread_cond_init(&vd.alert_wake, NULL);
	r = start(&vd);
	if (r == 0)
		r = run(&vd);
	stop(&vd);
	return r < 0 ? VIGIL_EXIT_RUNTIME : VIGIL_EXIT_OK;
}
