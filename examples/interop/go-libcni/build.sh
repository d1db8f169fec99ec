#!/bin/sh
# Builds golibcni (main.go, on Go's libcni) fully offline.
#   examples/interop/go-libcni/build.sh [OUTPUT]   default OUTPUT: examples/interop/go-libcni/out/golibcni
# Needs Debian's golang-go and golang-github-appc-cni-dev (scripts/quickstart.sh installs both).
# GOCACHE/GOPATH default to examples/interop/go-libcni/out/ (git-ignored); override with GOLIBCNI_GOCACHE
# and GOLIBCNI_GOPATH.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/out/golibcni"}
cni_src=/usr/share/gocode/src/github.com/containernetworking/cni

go_bin=$(command -v go 2>/dev/null || true)
if [ -z "$go_bin" ] && [ -x /usr/lib/go/bin/go ]; then go_bin=/usr/lib/go/bin/go; fi
if [ -z "$go_bin" ]; then
  echo "golibcni build: the Go toolchain is missing (apt-get install golang-go; scripts/quickstart.sh does it)" >&2
  exit 3
fi
if [ ! -f "$cni_src/libcni/api.go" ]; then
  echo "golibcni build: the libcni sources are missing at $cni_src (apt-get install golang-github-appc-cni-dev; scripts/quickstart.sh does it)" >&2
  exit 3
fi

mkdir -p "$(dirname "$out")"
export GOCACHE="${GOLIBCNI_GOCACHE:-$here/out/gocache}"
export GOPATH="${GOLIBCNI_GOPATH:-$here/out/gopath}"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
cd "$here"
# -mod=mod may rewrite go.mod/go.sum; build from a scratch copy so the sources stay untouched.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp go.mod main.go "$work/"
cp -r stubs "$work/stubs"
cd "$work"
"$go_bin" build -trimpath -o "$out" .
echo "golibcni build: wrote $out" >&2
