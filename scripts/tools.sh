#!/usr/bin/env bash
# Builds the real systems the test suites run against (JuiceFS, SeaweedFS, PD) from their Go
# modules, at pinned versions, into .tools/<name>-<version>/ (git-ignored).
#
# Why `go mod download` + `go build` in a writable copy rather than `go install MOD@VER`: all
# three modules carry `replace` directives in go.mod, which `go install` refuses. Building in a
# copy of the module makes its go.mod the main module, so its replaces apply, and gives us a
# place to apply our own overrides when a dependency does not build with this machine's Go.
#
# A tool already built at its pinned version is not rebuilt (the .built stamp beside it holds
# the build's seconds). GOMODCACHE and GOCACHE stay at Go's defaults so a rebuild on the same
# machine is warm. Usage: scripts/tools.sh [name...]   (names: juicefs-1.3 juicefs-1.4 weed pd)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.tools"
# A machine-wide copy of every build, outside the checkout: CI runs on a fresh clone of the same
# machine, and takes the binaries from here instead of building them again.
cache="${HEADROOM_TOOLS_CACHE:-$HOME/.cache/headroom-tools}"
mkdir -p "$root/src" "$cache"

if ! command -v go >/dev/null 2>&1; then
  echo "tools: go is not installed; the real suites will be skipped (or fail under CI=true)" >&2
  exit 1
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# Object stores and engines JuiceFS can leave out: the Makefile's juicefs.lite list minus the
# gateway, webdav, etcd and tikv (the suites use them); redis and s3 are always built.
JFS_TAGS="nocos,nobos,nohdfs,noibmcos,noobs,nooss,noqingstor,nosftp,noswift,noazure,nogs,noufile,nob2,nonfs,nodragonfly,nosqlite,nomysql,nopg,nobadger,nocifs,nostorj,noqiniu,notos,noks3"

# name|module|version|package|binary|tags|version-args|cgo
# JuiceFS needs cgo (gcc): github.com/DataDog/zstd, its compressor, has no pure-Go files.
# JuiceFS: v1.3.1 is the newest 1.3.x the module proxy serves here (v1.3.2 and v1.3.3 answer
# 403), v1.4.1 the newest 1.4.x. v0.17.5 (what the platform runs) is refused by the proxy
# (403 for every 0.17.x), so it cannot be built here: see the README.
# SeaweedFS: its tags ("4.44") are not semver and the module has no /v4 suffix, so a commit
# pseudo-version pins it. PD: v26 tags do not match the module path either, so only a commit
# pseudo-version could pin it, and the module proxy here answers 403 for every one tried
# (v26.3.4's commit 054331030a4d, master of 2026-08-21 a186e0cc61de and a77df243d98b): PD is
# built only when PD_VERSION names a pseudo-version the proxy serves.
TOOLS=(
  "juicefs-1.3|github.com/juicedata/juicefs|v1.3.1|.|juicefs|$JFS_TAGS|version|1"
  "juicefs-1.4|github.com/juicedata/juicefs|v1.4.1|.|juicefs|$JFS_TAGS|version|1"
  "weed|github.com/seaweedfs/seaweedfs|v0.0.0-20261109003541-7506e5f91cd6|./weed|weed||version|0"
)
if [ -n "${PD_VERSION:-}" ]; then
  TOOLS+=("pd|github.com/tikv/pd|$PD_VERSION|./cmd/pd-server|pd-server|without_dashboard|--version|0")
fi

build_one() {
  local name=$1 module=$2 version=$3 pkg=$4 bin=$5 tags=$6 vargs=$7 cgo=$8
  local dest="$root/$name-$version" src="$root/src/$name-$version"
  if [ ! -f "$dest/.built" ] && [ -f "$cache/$name-$version/.built" ] && [ -x "$cache/$name-$version/$bin" ]; then
    mkdir -p "$dest" && cp -p "$cache/$name-$version/$bin" "$cache/$name-$version/.built" "$dest/"
  fi
  if [ -x "$dest/$bin" ] && [ -f "$dest/.built" ]; then
    printf '%-12s %-45s cached (built in %ss): %s\n' "$name" "$version" "$(cat "$dest/.built")" \
      "$("$dest/$bin" $vargs 2>&1 | head -1)"
    return 0
  fi
  local start=$SECONDS dir
  dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ]; then
    echo "tools: $module@$version is not served by the module proxy" >&2
    return 1
  fi
  rm -rf "$src"
  cp -r "$dir" "$src" && chmod -R u+w "$src" && overrides "$name" "$src" || return 1
  mkdir -p "$dest"
  # Called from an `||` list, so `set -e` does not apply here: every step is checked by hand.
  if ! (cd "$src" && CGO_ENABLED=$cgo go build -trimpath ${tags:+-tags "$tags"} -ldflags="-s -w" -o "$dest/$bin" "$pkg"); then
    echo "tools: building $name $version failed" >&2
    return 1
  fi
  echo $((SECONDS - start)) >"$dest/.built"
  rm -rf "$src"
  mkdir -p "$cache/$name-$version" && cp -p "$dest/$bin" "$dest/.built" "$cache/$name-$version/"
  printf '%-12s %-45s built in %ss: %s\n' "$name" "$version" "$(cat "$dest/.built")" \
    "$("$dest/$bin" $vargs 2>&1 | head -1)"
}

# Dependency overrides some modules need to build with Go 1.26. Each says why.
overrides() {
  local name=$1 src=$2
  case "$name" in
    *) : ;; # none needed for the versions pinned above
  esac
}

want=("$@")
failed=0
for row in "${TOOLS[@]}"; do
  IFS='|' read -r name module version pkg bin tags vargs cgo <<<"$row"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  build_one "$name" "$module" "$version" "$pkg" "$bin" "$tags" "$vargs" "$cgo" || failed=1
done
exit $failed
