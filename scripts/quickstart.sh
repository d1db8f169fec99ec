#!/usr/bin/env bash
# Installs everything cnikit needs on a fresh Debian machine (Node 20 + npm, run as root),
# then runs the demo or the whole test suite.
#
#   bash scripts/quickstart.sh demo [demo flags...]   # build, then run the demo (the main job)
#   bash scripts/quickstart.sh test [vitest flags...] # build, then run every test
#
# Each set-up step prints one line with its time; the tools' output goes to a log file, and its
# tail is printed only when a step fails.
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

log="$(mktemp "${TMPDIR:-/tmp}/cnikit-quickstart.XXXXXX.log")"

# step LABEL COMMAND...: runs COMMAND with its output in $log; prints LABEL and the time taken,
# or, on failure, the last lines of the log and exits with the command's status.
step() {
  local label="$1"; shift
  local start="$EPOCHREALTIME"
  printf '%-44s' "$label"
  echo "==> $label: $*" >>"$log"
  local rc=0
  "$@" >>"$log" 2>&1 || rc=$?
  local secs
  secs="$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  if [ "$rc" = 0 ]; then
    printf '%7ss\n' "$secs"
  else
    printf '%7ss  FAILED (exit %s)\n' "$secs" "$rc"
    echo "--- last 40 lines of $log ---" >&2
    tail -n 40 "$log" >&2
    exit "$rc"
  fi
}

# Debian packages: the Go reference plugins (interop tests, demo --network go-*), iproute2, GNU time (bench RSS),
# nftables/iptables (masquerade), ping, flock/script (util-linux), and Go + the libcni sources
# (Debian golang-github-appc-cni-dev) to build a real Go libcni runtime for the interop tests; etcd (etcd-server,
# etcd-client) for the @cnikit/store tests, which start their own members; containerd, runc and busybox-static for
# the containerd test (a private containerd runs a busybox container attached by cnikit's plugins).
debs="gcc libc6-dev musl-tools containernetworking-plugins iproute2 nftables iptables iputils-ping util-linux time golang-go golang-github-appc-cni-dev etcd-server etcd-client containerd runc busybox-static openssl"
missing=""
for p in $debs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # one && chain: errexit does not apply inside a function run by step's `||`
  # shellcheck disable=SC2086
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
}
if [ -n "$missing" ]; then
  step "apt-get install ($(echo $missing | wc -w) Debian packages)" apt_install
else
  printf '%-44s%8s\n' "Debian packages ($(echo $debs | wc -w))" "present"
fi

pnpm_version=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  step "npm install -g pnpm@$pnpm_version" npm install -g "pnpm@$pnpm_version"
fi

step "pnpm install" pnpm install --frozen-lockfile --reporter=append-only
packages="$(pnpm -r ls --depth -1 --json 2>/dev/null | node -e '
  const fs = require("fs");
  const all = JSON.parse(fs.readFileSync(0, "utf8"));
  const built = all.filter((p) => p.path !== process.cwd() && JSON.parse(fs.readFileSync(p.path + "/package.json", "utf8")).scripts?.build);
  console.log(built.length);
' || echo "?")"
step "pnpm build ($packages packages and examples)" pnpm build
rm -f "$log"

case "$job" in
  demo) exec node examples/demo/dist/demo "$@" ;;
  test) exec pnpm run test "$@" ;;
esac
