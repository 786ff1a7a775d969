#!/usr/bin/env bash
# Request latency through nginx against the portal directly, measured with wrk from its own
# process on loopback:
#
#     bash benches/nginx.sh          # DURATION=10s CONNECTIONS=8 PATHS="/anmelden /nachnutzung"
#
# Builds the release binary, loads the demo into a scratch database on 127.0.0.1:5432 (or
# DATABASE_SERVER), serves it on one port and puts nginx (plain HTTP, upstream keep-alive as in
# deploy/nginx/foerderportal.conf) in front of it on another. Prints wrk's median and p99 per
# path for both, and the ratio of the medians. Needs nginx and wrk (Debian: nginx wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
PATHS=${PATHS:-"/anmelden /nachnutzung"}
SERVER=${DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
DB="fp_bench_nginx_$$"
DIR=$(mktemp -d)
chmod 777 "$DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIRECT=$(free_port)
PROXY=$(free_port)

cargo build --release --quiet
BIN=target/release/foerderportal
cleanup() {
  [[ -n "${NGINX_PID:-}" ]] && kill "$NGINX_PID" 2>/dev/null || true
  [[ -n "${PORTAL_PID:-}" ]] && kill "$PORTAL_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

DATABASE_URL="$SERVER/$DB" "$BIN" demo-data >/dev/null
DATABASE_URL="$SERVER/$DB" LISTEN_ADDR="127.0.0.1:$DIRECT" VAR_DIR="$DIR/var" RUST_LOG=warn \
  TRUSTED_PROXIES=127.0.0.1 SECRET_KEY="$("$BIN" secret-key)" REQUIRE_SECOND_FACTOR=false \
  "$BIN" serve >/dev/null &
PORTAL_PID=$!

cat > "$DIR/nginx.conf" <<CONF
worker_processes 1; pid $DIR/nginx.pid; error_log $DIR/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/body; proxy_temp_path $DIR/proxy;
  fastcgi_temp_path $DIR/fastcgi; uwsgi_temp_path $DIR/uwsgi; scgi_temp_path $DIR/scgi;
  upstream portal { server 127.0.0.1:$DIRECT; keepalive 32; keepalive_timeout 5s; }
  server {
    listen 127.0.0.1:$PROXY;
    location / {
      proxy_pass http://portal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
CONF
nginx -p "$DIR" -c "$DIR/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!

for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$DIRECT/readyz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$PROXY/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

# wrk's latency distribution in ms: "50%" and "99%" lines.
latency() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } /Requests\/sec/ { rps = $2 }
    END { printf "%.2f %.2f %.0f", p50, p99, rps }'
}

printf '%-16s %-8s %10s %10s %10s\n' path via "median ms" "p99 ms" "req/s"
for path in $PATHS; do
  read -r d50 d99 drps <<<"$(latency "http://127.0.0.1:$DIRECT$path")"
  read -r p50 p99 prps <<<"$(latency "http://127.0.0.1:$PROXY$path")"
  printf '%-16s %-8s %10s %10s %10s\n' "$path" direct "$d50" "$d99" "$drps"
  printf '%-16s %-8s %10s %10s %10s\n' "$path" nginx "$p50" "$p99" "$prps"
  awk -v a="$p50" -v b="$d50" 'BEGIN { printf "%-16s nginx/direct median: %.2f×\n", "", a / b }'
done
