#!/usr/bin/env bash
# Installs everything cnikit needs on a fresh Debian machine (Node 20 + npm, run as root),
# then runs the demo or the whole test suite.
#
#   bash scripts/quickstart.sh demo [demo flags...]   # build, then run the demo (the main job)
#   bash scripts/quickstart.sh test                   # build, then run every test
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-}"
case "$job" in
  demo|test) shift ;;
  *) echo "usage: bash scripts/quickstart.sh demo|test [args...]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
  echo "cnikit's demo and tests create network namespaces: run as root." >&2
  exit 1
fi

# Debian packages: the Go reference plugins (interop tests, demo --network go-*), iproute2, GNU time (bench RSS),
# nftables/iptables (masquerade), ping, flock/script (util-linux), and Go + the libcni sources
# (Debian golang-github-appc-cni-dev) to build a real Go libcni runtime for the interop tests; etcd (etcd-server,
# etcd-client) for the @cnikit/store tests, which start their own members.
debs="gcc libc6-dev containernetworking-plugins iproute2 nftables iptables iputils-ping util-linux time golang-go golang-github-appc-cni-dev etcd-server etcd-client"
missing=""
for p in $debs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "==> apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

pnpm_version=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "==> npm install -g pnpm@$pnpm_version"
  npm install -g --silent "pnpm@$pnpm_version"
fi

echo "==> pnpm install"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
echo "==> pnpm build"
pnpm build

case "$job" in
  demo) exec node examples/demo/dist/demo "$@" ;;
  test) exec pnpm run test "$@" ;;
esac
