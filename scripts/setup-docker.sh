#!/usr/bin/env bash
# Install and start what the container tests need, on Debian 12 as root (CI: .ci/run).
# Idempotent: a second run only checks and finishes in seconds.
#   - docker.io (engine 20.10), qemu-user-static + binfmt-support (arm64 emulation),
#     mmdebstrap + arch-test (registry-free base images)
#   - dockerd started in the background if `docker info` does not answer (log: /var/log/dockerd.log)
#   - docker-buildx 0.13 from Debian trixie (bookworm has none) into ~/.docker/cli-plugins
#   - binfmt_misc mounted and enabled so linux/arm64 containers run
# Leaves dockerd running. Environment: DOCKERD_WAIT (seconds, default 60).
set -euo pipefail

log() { printf 'setup-docker: %s\n' "$*"; }
die() { printf 'setup-docker: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

# --- packages (only those missing) -------------------------------------------------------
# arch-test: mmdebstrap refuses foreign architectures (arm64) without it (it is only a Recommends).
missing=()
# gcc, libc6-dev: the static stand-in job of tests/integration/test_docker_faults.py's private engine.
for p in docker.io qemu-user-static binfmt-support mmdebstrap arch-test openssh-server gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "packages present"
fi

# --- which client ------------------------------------------------------------------------
# This machine also has /usr/local/bin/docker (CLI 28.x), which comes before Debian's
# /usr/bin/docker (20.10) on PATH. Checked: CLI 28 negotiates the API down to the engine's
# 1.41 by itself ("API version: 1.41 (downgraded from 1.50)"), and both clients load the
# buildx plugin from ~/.docker/cli-plugins, so either works and DOCKER_API_VERSION is not
# needed. Pinning it would only break a newer engine, so it is left unset.
command -v docker >/dev/null || die "no docker client on PATH"
log "client: $(command -v docker) $(docker version --format '{{.Client.Version}}' 2>/dev/null || true)"

# --- engine ------------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "dockerd already answers"
else
  log "starting dockerd (log: /var/log/dockerd.log)"
  # setsid: own session, so it outlives this script and the CI step that ran it.
  setsid dockerd >>/var/log/dockerd.log 2>&1 < /dev/null &
  wait_s=${DOCKERD_WAIT:-60}
  for _ in $(seq "$wait_s"); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 ||
    die "dockerd did not answer within ${wait_s}s; last log lines:
$(tail -n 20 /var/log/dockerd.log)"
fi
log "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

# --- buildx ------------------------------------------------------------------------------
if docker buildx version >/dev/null 2>&1; then
  log "buildx present: $(docker buildx version)"
else
  log "installing docker-buildx from Debian trixie into ~/.docker/cli-plugins"
  # Mirror from this machine's apt config; apt state lives in a temp dir, so the machine's
  # own sources and lists stay untouched.
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i!~/^\[/ && $i~/:\/\//){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$tmp/sources.list"
  o=(-oAPT::Sandbox::User=root -oDir::Etc::SourceList="$tmp/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$tmp/lists")
  apt-get "${o[@]}" update -qq
  (cd "$tmp" && apt-get "${o[@]}" download -qq docker-buildx)
  dpkg -x "$tmp"/docker-buildx_*.deb "$tmp/x"
  install -D -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-buildx" ~/.docker/cli-plugins/docker-buildx
  docker buildx version >/dev/null 2>&1 || die "docker buildx does not run after install"
  log "buildx installed: $(docker buildx version)"
fi

# --- arm64 emulation ---------------------------------------------------------------------
# qemu-user-static registers its handlers with the F flag (interpreter opened at register
# time), so containers need no qemu binary inside.
aarch64=/proc/sys/fs/binfmt_misc/qemu-aarch64
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
grep -qx enabled "$aarch64" 2>/dev/null || update-binfmts --enable
grep -qx enabled "$aarch64" 2>/dev/null || die "qemu-aarch64 binfmt handler not enabled"
log "arm64 emulation enabled"
log "done (dockerd left running)"
