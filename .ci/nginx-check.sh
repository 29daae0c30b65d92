#!/usr/bin/env bash
# CI: proves deploy/nginx/wxtodo.conf. Builds wxtodo, runs it in production
# mode against a fake WeChat on loopback, puts the committed nginx site in
# front of it with a self-signed certificate, and talks GraphQL through
# https. Everything runs on 127.0.0.1 ports picked at random, under one
# temporary directory; the system's nginx service is left alone.
#
#   bash .ci/nginx-check.sh        (from anywhere; as root on a fresh Debian
#                                   machine it apt-installs nginx, openssl, curl)
# "check && check || fail ..." is meant: fail when either check does not hold.
# shellcheck disable=SC2015
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

step() { printf '\n=== %s\n' "$*"; }
ok() { printf 'ok   %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*" >&2
  exit 1
}

# --- tools ----------------------------------------------------------------
step "tools"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: install them, or run as root to apt-get them"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=300
  pkgs=()
  for p in "${missing[@]}"; do
    # Debian 12 and later: "nginx" is the server itself. Older releases
    # call the small build nginx-light.
    if [ "$p" = nginx ] && ! apt-cache show nginx >/dev/null 2>&1; then p=nginx-light; fi
    pkgs+=("$p")
  done
  # The package would start the system nginx on port 80; this check does
  # not want it. policy-rc.d (exit 101) keeps the install from starting
  # services, and goes away again afterwards.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${pkgs[@]}" >/dev/null || install_failed=1
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ -z "${install_failed:-}" ] || fail "apt-get install ${pkgs[*]}"
fi
printf '%s; %s; %s\n' "$(nginx -v 2>&1)" "$(openssl version)" "$(curl -V | head -1 | cut -d' ' -f1-2)"

# --- scratch space, and cleanup of everything started here ----------------
tmp=$(mktemp -d /tmp/wxtodo-nginx-check.XXXXXX)
pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" != 0 ]; then
    for log in wechat.log wxtodo.log nginx.stderr error.log wxtodo.error.log; do
      [ -s "$tmp/$log" ] || continue
      printf '\n--- %s (last 20 lines)\n' "$log" >&2
      tail -n 20 "$tmp/$log" >&2
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port VAR: sets VAR to a 127.0.0.1 port nobody listens on (and not one
# this script has handed out already).
taken=" "
app_port='' https_port='' http_port=''
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken="$taken$p "
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  fail "no free port found"
}

# wait_for PID CMD...: retry CMD for up to 15s while process PID lives.
wait_for() {
  local pid=$1
  shift
  for _ in $(seq 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- build ------------------------------------------------------------------
step "build wxtodo and the fake WeChat"
go build -o "$tmp/wxtodo" .
go build -o "$tmp/fakewechat" ./deploy/fakewechat
go build -o "$tmp/livecheck" ./deploy/livecheck
ok "built"

# --- fake WeChat --------------------------------------------------------------
step "fake WeChat jscode2session on loopback"
appid=wx_nginx_check
secret="nginx-check-secret-$RANDOM$RANDOM"
"$tmp/fakewechat" -addr 127.0.0.1:0 -addr-file "$tmp/wechat.addr" -appid "$appid" -secret "$secret" \
  >"$tmp/wechat.log" 2>&1 &
pids+=("$!")
wait_for "$!" test -s "$tmp/wechat.addr" || fail "fake WeChat did not start"
wechat_base=$(cat "$tmp/wechat.addr")
ok "fake WeChat at $wechat_base"

# --- wxtodo -------------------------------------------------------------------
step "wxtodo in production mode"
free_port app_port
env -i PATH="$PATH" HOME="$tmp" \
  ADDR="127.0.0.1:$app_port" \
  DATABASE_URL="sqlite:$tmp/wxtodo.db" \
  WECHAT_APPID="$appid" WECHAT_SECRET="$secret" WECHAT_API_BASE="$wechat_base" \
  TRUST_PROXY=true DATA_KEY="$(openssl rand -base64 32)" \
  "$tmp/wxtodo" >"$tmp/wxtodo.log" 2>&1 &
wxtodo_pid=$!
pids+=("$wxtodo_pid")
wait_for "$wxtodo_pid" curl -fsS "http://127.0.0.1:$app_port/readyz" || fail "wxtodo did not become ready"
grep -q '"playground":false' "$tmp/wxtodo.log" && ! grep -q 'DEVELOPMENT MODE' "$tmp/wxtodo.log" ||
  fail "wxtodo is not in production mode"
ok "wxtodo ready on 127.0.0.1:$app_port (production mode, TRUST_PROXY=true)"

# --- certificate ----------------------------------------------------------------
step "self-signed certificate for localhost and 127.0.0.1"
mkdir -p "$tmp/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/tls/privkey.pem" -out "$tmp/tls/fullchain.pem" 2>/dev/null
ok "certificate with SAN DNS:localhost, IP:127.0.0.1"

# --- nginx ------------------------------------------------------------------------
step "nginx with deploy/nginx/wxtodo.conf"
free_port https_port
free_port http_port
# The committed site, with only addresses, paths and the domain changed.
sed -E \
  -e 's|^([[:space:]]*listen )443 |\1127.0.0.1:'"$https_port"' |' \
  -e 's|^([[:space:]]*listen )80;|\1127.0.0.1:'"$http_port"';|' \
  -e '/^[[:space:]]*listen \[::\]:/d' \
  -e 's|^([[:space:]]*ssl_certificate[_a-z]*[[:space:]]+)/etc/letsencrypt/live/api\.example\.com/|\1'"$tmp"'/tls/|' \
  -e 's|^([[:space:]]*(access\|error)_log[[:space:]]+)/var/log/nginx/|\1'"$tmp"'/|' \
  -e 's|^([[:space:]]*server )127\.0\.0\.1:8080;|\1127.0.0.1:'"$app_port"';|' \
  -e 's|^([[:space:]]*server_name )api\.example\.com;|\1localhost;|' \
  deploy/nginx/wxtodo.conf >"$tmp/wxtodo.conf"
printf 'substitutions applied to the committed site:\n'
diff deploy/nginx/wxtodo.conf "$tmp/wxtodo.conf" | grep '^[<>]' | sed 's/^/  /' || true
# Everything the main nginx.conf would give: a scratch prefix instead of
# /var/lib/nginx and /var/log/nginx.
mkdir -p "$tmp/nginx-temp"
{
  # Workers as root only because this is a throwaway instance under a 0700
  # directory; the system nginx keeps its www-data workers.
  if [ "$(id -u)" = 0 ]; then echo "user root;"; fi
  cat <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 128; }
http {
    default_type application/octet-stream;
    access_log $tmp/access.log;
    client_body_temp_path $tmp/nginx-temp/body;
    proxy_temp_path $tmp/nginx-temp/proxy;
    fastcgi_temp_path $tmp/nginx-temp/fastcgi;
    uwsgi_temp_path $tmp/nginx-temp/uwsgi;
    scgi_temp_path $tmp/nginx-temp/scgi;
    include $tmp/wxtodo.conf;
}
EOF
} >"$tmp/nginx.conf"
nginx_t=0
nginx -t -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" >"$tmp/nginx-t.out" 2>&1 || nginx_t=$?
sed 's/^/  /' "$tmp/nginx-t.out"
[ "$nginx_t" = 0 ] || fail "nginx -t"
nginx -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" -g 'daemon off;' >"$tmp/nginx.stderr" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")

base="https://localhost:$https_port"
CURL=(curl -sS --max-time 10 --cacert "$tmp/tls/fullchain.pem" --resolve "localhost:$https_port:127.0.0.1"
  --resolve "localhost:$http_port:127.0.0.1")
wait_for "$nginx_pid" "${CURL[@]}" -f "$base/healthz" || fail "nginx did not answer on $base"
ok "nginx -t passed; nginx serves $base and http://localhost:$http_port"

# --- checks through nginx ---------------------------------------------------------
step "requests through nginx"
# gql BODY [CURL ARGS...]: POST a GraphQL body to /query; headers to
# $tmp/h, body to $tmp/b, status to stdout.
gql() {
  local body=$1
  shift
  "${CURL[@]}" -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$body" "$@" "$base/query"
}
header() { tr -d '\r' <"$tmp/h" | sed -n "s/^$1: //Ip" | tail -1; }
json_str() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' "$tmp/b"; }

# login, over HTTP/2 when curl has it.
h2=()
if curl -V | grep -qw HTTP2; then h2=(--http2); fi
status=$(gql '{"query":"mutation { login(input: {code: \"nginx-check\"}) { token user { id } } }"}' \
  "${h2[@]}" -H 'X-Request-Id: nginx-check-login' -H 'X-Forwarded-For: 203.0.113.7')
proto=$(head -1 "$tmp/h" | cut -d' ' -f1)
[ "$status" = 200 ] || fail "login: HTTP $status: $(cat "$tmp/b")"
token=$(json_str token)
user_id=$(json_str id)
[ -n "$token" ] && [ -n "$user_id" ] || fail "login: no token or user id in $(cat "$tmp/b")"
grep -q '"errors"' "$tmp/b" && fail "login: errors in $(cat "$tmp/b")"
ok "POST /query login -> 200 over $proto, a token and user id $user_id"

[ "$(header X-Request-Id)" = nginx-check-login ] || fail "X-Request-Id not passed through: '$(header X-Request-Id)'"
ok "client's X-Request-Id reaches wxtodo and comes back"
hsts=$(header Strict-Transport-Security)
[ -n "$hsts" ] || fail "no Strict-Transport-Security header"
ok "HSTS: $hsts"
! header Server | grep -q '[0-9]' || fail "Server header shows a version: $(header Server)"
ok "Server header without version ($(header Server))"

# The client's forged X-Forwarded-For must not reach wxtodo's client IP.
logline=$(grep '"request_id":"nginx-check-login"' "$tmp/wxtodo.log" | grep '"msg":"request"' | tail -1)
[ -n "$logline" ] || fail "no wxtodo log line for request nginx-check-login"
echo "$logline" | grep -q '"client_ip":"127.0.0.1"' ||
  fail "wxtodo saw the wrong client IP (a forged X-Forwarded-For must not count): $logline"
ok "wxtodo logs client_ip 127.0.0.1 although the client sent X-Forwarded-For: 203.0.113.7"

status=$(gql '{"query":"{ me { id } }"}' -H "Authorization: Bearer $token")
[ "$status" = 200 ] || fail "me: HTTP $status: $(cat "$tmp/b")"
[ "$(json_str id)" = "$user_id" ] || fail "me: expected user $user_id, got $(cat "$tmp/b")"
rid=$(header X-Request-Id)
[[ "$rid" =~ ^[0-9a-f]{32}$ ]] || fail "without a client X-Request-Id, expected nginx's \$request_id, got '$rid'"
grep -q "rid=$rid" "$tmp/wxtodo.access.log" || fail "nginx access log lacks rid=$rid"
ok "POST /query me with the bearer token -> user $user_id; nginx and wxtodo share request id $rid"

status=$(gql '{"query":"{ me { id } }"}' --http1.1 -H "Authorization: Bearer $token")
[ "$status" = 200 ] && [ "$(json_str id)" = "$user_id" ] && head -1 "$tmp/h" | grep -q '^HTTP/1.1 ' ||
  fail "me over HTTP/1.1: HTTP $status $(cat "$tmp/b")"
ok "the same over HTTP/1.1"

status=$(gql '{"query":"{ me { id } }"}')
grep -q '"UNAUTHENTICATED"' "$tmp/b" || fail "me without a token: expected UNAUTHENTICATED, got HTTP $status $(cat "$tmp/b")"
ok "me without a token -> UNAUTHENTICATED"

status=$("${CURL[@]}" -o "$tmp/b" -w '%{http_code}' -G --data-urlencode 'query={ me { id } }' \
  -H "Authorization: Bearer $token" "$base/query")
[ "$status" = 200 ] && [ "$(json_str id)" = "$user_id" ] || fail "GET /query: HTTP $status $(cat "$tmp/b")"
grep -q '"GET /query HTTP' "$tmp/wxtodo.access.log" && ! grep -q 'query=' "$tmp/wxtodo.access.log" ||
  fail "nginx access log has the query string: $(grep 'GET /query' "$tmp/wxtodo.access.log")"
ok "GET /query?query=... works; the access log has the path without the query string"

# Live updates: a graphql-transport-ws socket through nginx's TLS, idle for
# 30s (past the 20s read timeout of ordinary requests, answering wxtodo's
# pings), then a change over HTTPS arrives on it as an event.
"$tmp/livecheck" -url "$base" -cacert "$tmp/tls/fullchain.pem" -token "$token" -idle 30s >"$tmp/live.out" 2>&1 ||
  fail "subscription through nginx: $(cat "$tmp/live.out")"
ok "$(cat "$tmp/live.out")"

for path in /healthz /readyz; do
  status=$("${CURL[@]}" -o "$tmp/b" -w '%{http_code}' "$base$path")
  [ "$status" = 200 ] || fail "GET $path: HTTP $status"
done
ok "GET /healthz, /readyz -> 200"

status=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$base/metrics")
[ "$status" = 403 ] || fail "GET /metrics: expected 403, got $status"
direct=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$app_port/metrics" || true)
ok "GET /metrics -> 403 through nginx (wxtodo itself answers $direct on 127.0.0.1:$app_port)"

status=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$base/")
[ "$status" = 404 ] || fail "GET /: expected 404, got $status"
ok "GET / -> 404 (no playground)"

status=$("${CURL[@]}" -o /dev/null -D "$tmp/h" -w '%{http_code}' "http://localhost:$http_port/query?x=1")
location=$(header Location)
[ "$status" = 301 ] && [ "$location" = "https://localhost/query?x=1" ] ||
  fail "http: expected 301 to https://localhost/query?x=1, got $status '$location'"
ok "http://localhost:$http_port/query -> 301 $location"

# Bodies: just under 1 MiB passes nginx (wxtodo parses it); over 1 MiB is
# 413 from nginx, in wxtodo's error shape, before wxtodo sees it.
pad() { head -c "$1" /dev/zero | tr '\0' x; }
{ printf '{"query":"{ me { id } }","variables":{"pad":"'; pad $((1048576 - 100)); printf '"}}'; } >"$tmp/almost.json"
status=$(gql "@$tmp/almost.json" -H "Authorization: Bearer $token")
[ "$status" = 200 ] && [ "$(json_str id)" = "$user_id" ] ||
  fail "body of $(wc -c <"$tmp/almost.json") bytes: expected 200, got $status $(head -c 300 "$tmp/b")"
ok "POST of $(wc -c <"$tmp/almost.json") bytes (< 1 MiB) -> 200"
{ printf '{"query":"{ me { id } }","variables":{"pad":"'; pad 1048576; printf '"}}'; } >"$tmp/big.json"
status=$(gql "@$tmp/big.json")
[ "$status" = 413 ] || fail "body over 1 MiB: expected 413, got $status"
grep -q '"REQUEST_TOO_LARGE"' "$tmp/b" || fail "413 body: $(cat "$tmp/b")"
n=$(grep -c '"status":413' "$tmp/wxtodo.log" || true)
[ "$n" = 0 ] || fail "the big body reached wxtodo"
ok "POST of $(wc -c <"$tmp/big.json") bytes (> 1 MiB) -> 413 REQUEST_TOO_LARGE from nginx"

status=$(gql "@$tmp/big.json" --http1.1 -H 'Transfer-Encoding: chunked' || true)
[ "$status" = 413 ] || fail "chunked body over 1 MiB: expected 413, got $status"
ok "the same as a chunked HTTP/1.1 upload (no Content-Length) -> 413"

# TLS: 1.2 and 1.3 only, forward-secret ciphers only. The client is told to
# offer the old and weak (SECLEVEL=0), so a refusal is the server's doing.
tls() { openssl s_client -connect "127.0.0.1:$https_port" -servername localhost "$@" </dev/null >"$tmp/tls.out" 2>&1; }
tls -tls1_3 && tls -tls1_2 -cipher 'ECDHE+AESGCM' || fail "TLS 1.2/1.3 handshake: $(tail -3 "$tmp/tls.out")"
! tls -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' || fail "TLS 1.1 handshake succeeded"
! tls -tls1 -cipher 'DEFAULT@SECLEVEL=0' || fail "TLS 1.0 handshake succeeded"
! tls -tls1_2 -cipher 'AES128-SHA:AES256-SHA:AES128-GCM-SHA256:DES-CBC3-SHA@SECLEVEL=0' ||
  fail "TLS 1.2 without forward secrecy succeeded: $(grep -i cipher "$tmp/tls.out" | head -2)"
ok "TLS 1.3 and 1.2 (ECDHE) accepted; TLS 1.0, 1.1 and non-ECDHE ciphers refused"

# A write, with an answer big enough (> gzip_min_length, 1 KiB) to come back
# compressed.
title=$(pad 200)
m='mutation {'
for a in a b c d e f g h; do m="$m $a: createTodo(input: {title: \\\"$title\\\"}) { id title done }"; done
status=$(gql "{\"query\":\"$m }\"}" -H "Authorization: Bearer $token" --compressed)
[ "$status" = 200 ] && [ "$(grep -o '"done":false' "$tmp/b" | wc -l)" = 8 ] ||
  fail "createTodo x8: HTTP $status $(head -c 300 "$tmp/b")"
[ "$(header Content-Encoding)" = gzip ] || fail "a $(wc -c <"$tmp/b")-byte JSON answer was not gzip-compressed"
ok "createTodo x8 -> 200; the $(wc -c <"$tmp/b")-byte JSON answer came gzip-compressed"

# A flood from one address: past 20/s and a burst of 40, nginx answers 429
# RATE_LIMITED in GraphQL shape without bothering wxtodo. The requests go
# at once (one after the other, each curl's TLS handshake alone could keep
# them under the rate on a slow machine).
mkdir -p "$tmp/flood"
flood=()
for i in $(seq 1 200); do
  "${CURL[@]}" -o "$tmp/flood/$i.body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary '{"query":"{ __typename }"}' "$base/query" >"$tmp/flood/$i.status" 2>/dev/null &
  flood+=($!)
done
wait "${flood[@]}" || true # (wxtodo and nginx run in the background too)
limited=0
for i in $(seq 1 200); do
  if [ "$(cat "$tmp/flood/$i.status")" = 429 ]; then
    grep -q '"RATE_LIMITED"' "$tmp/flood/$i.body" || fail "429 without RATE_LIMITED: $(cat "$tmp/flood/$i.body")"
    limited=$((limited + 1))
  fi
done
[ "$limited" -gt 0 ] || fail "200 requests at once from one address: none was rate limited"
ok "200 requests at once from one address -> $limited answered 429 RATE_LIMITED by nginx"
sleep 3 # the bucket drains before the next checks

# wxtodo gone: nginx answers 503 SERVICE_UNAVAILABLE in GraphQL shape.
kill -TERM "$wxtodo_pid"
wait "$wxtodo_pid" 2>/dev/null || true
status=$(gql '{"query":"{ me { id } }"}')
[ "$status" = 503 ] && grep -q '"SERVICE_UNAVAILABLE"' "$tmp/b" ||
  fail "wxtodo down: expected 503 SERVICE_UNAVAILABLE, got $status $(cat "$tmp/b")"
ok "wxtodo stopped -> 503 SERVICE_UNAVAILABLE from nginx"

# --- the systemd unit, when systemd-analyze is here ----------------------------------
step "systemd unit"
if command -v systemd-analyze >/dev/null; then
  # verify wants ExecStart to exist: point it at the binary built above.
  mkdir -p "$tmp/unit"
  sed "s|/usr/local/bin/wxtodo|$tmp/wxtodo|" deploy/systemd/wxtodo.service >"$tmp/unit/wxtodo.service"
  # It exits 0 on bad keys and values, and only prints them.
  out=$(systemd-analyze verify "$tmp/unit/wxtodo.service" 2>&1 || echo "wxtodo.service: systemd-analyze failed")
  if echo "$out" | grep -q 'wxtodo\.service'; then
    echo "$out" >&2
    fail "systemd-analyze verify deploy/systemd/wxtodo.service"
  fi
  ok "systemd-analyze verify deploy/systemd/wxtodo.service"
else
  echo "systemd-analyze not installed; skipped"
fi

step "nginx check passed"
