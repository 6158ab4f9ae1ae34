# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh: what the fleet tests (tests/fleet/*) share. Source it after setting $tmp (a private
# temporary directory) and $here (tests/fleet). It defines:
#
#   check DESCRIPTION COMMAND...   one TAP test point; the command's output is shown on failure
#   bail DESCRIPTION [FILE]        a failed test point that ends the test (FILE shown)
#   wait_until SECONDS COMMAND...  run COMMAND every 0.2 s until it succeeds; 1 on timeout
#   swtpm_new NAME [CONFIG]        a provisioned TPM state in $tmp/NAME (EK certificates by
#                                  swtpm's local CA, or by the one of swtpm_setup --config CONFIG)
#   swtpm_start NAME               run it on a free loopback port pair; sets swtpm_tcti[NAME]
#                                  and swtpm_ctrl[NAME]; pids in $pids
#   swtpm_reset NAME               a TPM reset as a reboot does it (orderly shutdown, init,
#                                  startup): PCRs zero, reset count + 1, clock still safe
#   log_add NAME LOG RECORD...     append ima-ng records (mklog) to LOG and extend PCR 11 of
#                                  NAME's TPM (sha256) with them, so the log replays to it
#   free_port                      a free loopback TCP port
#   webhook_start FILE             an HTTP receiver on 127.0.0.1 ($webhook_port) that appends
#                                  each POST body as a line to FILE and answers 204
#   alert_ok KIND DEVICE KEY.pub   FILE holds exactly one alert of KIND for DEVICE, a compact
#                                  JWS whose ES256 signature verifies with KEY.pub (openssl)
#
# Counters: $n (test points so far) and $failed. Every process started is added to $pids and
# killed by fleet_cleanup (the caller's EXIT trap), which removes $tmp unless VIGIL_FLEET_KEEP
# is set.

n=0
failed=0
pids=
declare -A swtpm_tcti swtpm_ctrl

check() {
	local what=$1
	shift
	n=$((n + 1))
	if "$@" >"$tmp/check.out" 2>&1; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		sed 's/^/# /' "$tmp/check.out" | tail -n 60
		failed=$((failed + 1))
	fi
}

bail() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -z "${2:-}" ] || sed 's/^/# /' "$2" | tail -n 60
	echo "1..$n"
	exit 1
}

wait_until() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@"
}

fleet_cleanup() {
	local p
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${VIGIL_FLEET_KEEP:-}" ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

swtpm_new() {
	mkdir -p "$tmp/$1"
	swtpm_setup --tpm2 --tpmstate "$tmp/$1" --createek --create-ek-cert --create-platform-cert \
		${2:+--config "$2"} --overwrite >"$tmp/$1.setup.log" 2>&1
}

swtpm_start() {
	local port pid
	for _ in $(seq 10); do
		port=$((20000 + RANDOM % 20000 * 2))
		swtpm socket --tpm2 --tpmstate dir="$tmp/$1" --flags startup-clear \
			--server type=tcp,port=$port,bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--log file="$tmp/$1.log" &
		pid=$!
		swtpm_tcti[$1]="swtpm:host=127.0.0.1,port=$port"
		swtpm_ctrl[$1]=$((port + 1))
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			if TPM2TOOLS_TCTI=${swtpm_tcti[$1]} tpm2_getrandom 4 >/dev/null 2>&1; then
				pids="$pids $pid"
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 1
}

swtpm_reset() {
	TPM2TOOLS_TCTI=${swtpm_tcti[$1]} tpm2_shutdown -c &&
		swtpm_ioctl --tcp "127.0.0.1:${swtpm_ctrl[$1]}" -i >/dev/null &&
		TPM2TOOLS_TCTI=${swtpm_tcti[$1]} tpm2_startup -c
}

log_add() {
	local tpm=$1 log=$2 d
	shift 2
	python3 "$here/mklog" "$log" "$@" >"$tmp/digests" || return 1
	while read -r d; do
		TPM2TOOLS_TCTI=${swtpm_tcti[$tpm]} tpm2_pcrextend "11:sha256=$d" || return 1
	done <"$tmp/digests"
}

webhook_start() {
	webhook_file=$1
	: >"$webhook_file"
	webhook_port=$(free_port)
	python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f:
            f.write(body.strip() + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$webhook_port" "$webhook_file" &
	pids="$pids $!"
	wait_until 10 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$webhook_port"
}

alert_ok() {
	python3 - "$webhook_file" "$1" "$2" "$3" "$tmp" <<'EOF'
import base64, json, subprocess, sys
def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b
found = 0
for line in open(sys.argv[1]):
    h, p, s = line.strip().split(".")
    claims = json.loads(b64(p))
    if claims["kind"] != sys.argv[2] or claims["device"] != sys.argv[3]:
        continue
    assert json.loads(b64(h)) == {"alg": "ES256", "typ": "vigil-alert+jwt"}, h
    sig = b64(s)
    body = der_int(sig[:32]) + der_int(sig[32:])
    open(sys.argv[5] + "/alert.sig", "wb").write(b"\x30" + bytes([len(body)]) + body)
    open(sys.argv[5] + "/alert.in", "wb").write((h + "." + p).encode())
    subprocess.run(["openssl", "dgst", "-sha256", "-verify", sys.argv[4], "-signature",
                    sys.argv[5] + "/alert.sig", sys.argv[5] + "/alert.in"], check=True)
    print(claims)
    found += 1
assert found == 1, found
EOF
}
