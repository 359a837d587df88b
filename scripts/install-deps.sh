#!/usr/bin/env bash
# Installs everything Sluice's tests and benchmarks need on a Debian machine:
# etcd (the cluster store backend's tests run a real etcd), redis-server (the Redis
# quota counters' tests), haproxy (the cluster e2e test's load balancer), wrk and hyperfine (the
# bench script), pebble (the ACME CA of the certificate tests), the AWS CLI (end-to-end tests drive Sluice with it),
# the node, python3 and ruby interpreters the managed runtimes run on, Chromium (the web
# console's browser test), and Go modules.
set -euo pipefail
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v redis-server >/dev/null || need+=(redis-server) # --quota-counters redis:// tests run their own
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || need+=(haproxy) # the cluster e2e test's round-robin balancer
command -v wrk >/dev/null || need+=(wrk)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v aws >/dev/null || need+=(awscli)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm) # npm ci packages the Node.js examples (image-pipeline presign) in e2e tests
command -v python3 >/dev/null || need+=(python3)
command -v ruby >/dev/null || need+=(ruby) # the ruby3.x runtimes' interpreter
command -v zip >/dev/null || need+=(zip)
command -v pebble >/dev/null || need+=(pebble) # ACME test CA for the certificate e2e tests
[ -x /usr/bin/chromium ] || need+=(chromium) # the web console's browser test (playwright-core drives it)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# Debian starts etcd, redis-server and haproxy as services on install; our tests
# start their own.
if command -v systemctl >/dev/null; then
  for svc in etcd redis-server haproxy; do
    if systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
  done
fi
go mod download
