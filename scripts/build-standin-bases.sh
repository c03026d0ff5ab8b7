#!/usr/bin/env bash
# Build registry-free stand-ins for the real base images (nothing can be pulled here):
#   harness-standin/tf2.7:amd64  Debian bullseye amd64, Python 3.9, tensorflow-cpu 2.7.0,
#                                scikit-learn (stands in for the x86 CUDA TF 2.7 image)
#   harness-standin/py3-sklearn:arm64  Debian bookworm arm64, python3 + numpy + scikit-learn (emulated
#                                selftests of the Jetson image)
# Root filesystems come from mmdebstrap (the machine's own apt config); each tarball becomes
# an image via `FROM scratch` + `ADD rootfs.tar /` built by buildx, which records the right
# architecture (`docker import` labels everything amd64 on engine 20.10).
# Cached by tag: a tag that `docker image inspect` finds is skipped (FORCE=1 rebuilds).
# pip inside the build reaches PyPI through the CA in CA_FILE (default: the host bundle),
# passed as a BuildKit secret, never stored in a layer; CA_FILE= (empty) passes none.
# Needs scripts/setup-docker.sh first.
set -euo pipefail

TF_TAG=${TF_TAG:-harness-standin/tf2.7:amd64}
ARM_TAG=${ARM_TAG:-harness-standin/py3-sklearn:arm64}
CA_FILE=${CA_FILE-/etc/ssl/certs/ca-certificates.crt}
FORCE=${FORCE:-0}

log() { printf 'standin: %s\n' "$*" >&2; }
die() { printf 'standin: error: %s\n' "$*" >&2; exit 1; }
cached() { [ "$FORCE" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
timed() { # label cmd...: run cmd, print how long it took
  local t0=$SECONDS; "${@:2}"; log "$1: $((SECONDS - t0)) s"
}

secret=()
if [ -n "$CA_FILE" ]; then
  [ -r "$CA_FILE" ] || die "CA_FILE=$CA_FILE is not readable (set CA_FILE= to build without)"
  secret=(--secret "id=ca,src=$CA_FILE")
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/setup-docker.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build LOGDIR ARGS...: docker buildx build, its log shown only when it fails
build() {
  docker buildx build --progress=plain "${@:2}" >"$1/build.log" 2>&1 ||
    { tail -n 40 "$1/build.log" >&2; die "docker buildx build ${*:2} failed"; }
}

# image TAG PLATFORM SUITE PACKAGES [DOCKERFILE-LINES]: rootfs tarball -> image
image() {
  local tag=$1 platform=$2 suite=$3 packages=$4 extra=${5:-} dir
  if cached "$tag"; then log "$tag: cached"; return; fi
  dir=$(mktemp -d -p "$tmp")
  log "$tag: mmdebstrap $suite ${platform#linux/} ($packages)"
  timed "$tag: rootfs" mmdebstrap --quiet --variant=apt --architectures="${platform#linux/}" \
    --include="$packages" "$suite" "$dir/rootfs.tar"
  printf 'FROM scratch\nADD rootfs.tar /\nENV LANG=C.UTF-8\n%s\nCMD ["python3"]\n' "$extra" >"$dir/Dockerfile"
  log "$tag: docker buildx build --platform $platform"
  timed "$tag: image" build "$dir" --platform "$platform" --load "${secret[@]}" -t "$tag" "$dir"
  rm -rf "$dir"
}

# tensorflow-cpu 2.7.0 (cp39) imports only with protobuf < 3.21 (newer generated code) and
# numpy < 1.24; numpy 1.23.5 also satisfies scipy 1.13 / scikit-learn 1.6.1, the last
# scikit-learn with cp39 wheels. The RUN checks the import and a tiny computation.
tf_run='RUN --mount=type=secret,id=ca,required=false \
  if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
  pip3 install --no-cache-dir --disable-pip-version-check tensorflow-cpu==2.7.0 \
    numpy==1.23.5 protobuf==3.20.3 scikit-learn==1.6.1 \
  && python3 -c "import tensorflow as tf, sklearn; print(tf.__version__, sklearn.__version__); print(tf.reduce_sum(tf.ones([2,2])))"'

image "$TF_TAG" linux/amd64 bullseye python3,python3-pip,ca-certificates "$tf_run"
image "$ARM_TAG" linux/arm64 bookworm python3,python3-numpy,python3-sklearn,python3-pip,ca-certificates

docker run --rm --platform linux/amd64 "$TF_TAG" python3 -c \
  'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; import platform, tensorflow as tf, sklearn; print(platform.machine(), "python", platform.python_version(), "tf", tf.__version__, "sklearn", sklearn.__version__)' |
  sed "s|^|standin: $TF_TAG: |"
docker run --rm --platform linux/arm64 "$ARM_TAG" python3 -c \
  'import platform, numpy; print(platform.machine(), "python", platform.python_version(), "numpy", numpy.__version__)' |
  sed "s|^|standin: $ARM_TAG: |"
