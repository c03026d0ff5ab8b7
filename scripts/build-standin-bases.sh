#!/usr/bin/env bash
# Build registry-free stand-ins for the real base images (nothing can be pulled here):
#   harness-standin/tf2.7:amd64  Debian bullseye amd64, Python 3.9, tensorflow-cpu 2.7.0,
#                                scikit-learn (stands in for the x86 CUDA TF 2.7 image)
#   harness-standin/py3-sklearn:arm64  Debian bookworm arm64, python3 + numpy + scikit-learn (emulated
#                                selftests of the Jetson image)
#   harness-standin/l4t-tf2.7:arm64  L4T-like: Debian bullseye arm64, pip 9.0.1 (as Ubuntu 18.04's
#                                python3-pip), numpy, h5py, protobuf 3.19.4, tensorflow-aarch64 2.7.4,
#                                no scikit-learn / Pillow / TF-Hub (docker/README.md: each trait's source)
#   harness-standin/pip9:amd64   Debian bullseye amd64, pip 9.0.1 + numpy, no TF: fast checks of the
#                                Dockerfiles' install step under the L4T bases' pip
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
L4T_TAG=${L4T_TAG:-harness-standin/l4t-tf2.7:arm64}
PIP9_TAG=${PIP9_TAG:-harness-standin/pip9:amd64}
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

# The machine's own Debian mirror (as scripts/setup-docker.sh reads it), for main-only source lines.
mirror() {
  local m
  m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i!~/^\[/ && $i~/:\/\//){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  echo "$m"
}

# image TAG PLATFORM SUITE PACKAGES [DOCKERFILE-LINES [SOURCE-LINE]]: rootfs tarball -> image
# SOURCE-LINE (e.g. "deb MIRROR bullseye main"): only that source; else mmdebstrap's default set.
image() {
  local tag=$1 platform=$2 suite=$3 packages=$4 extra=${5:-} source=${6:-} dir
  if cached "$tag"; then log "$tag: cached"; return; fi
  dir=$(mktemp -d -p "$tmp")
  log "$tag: mmdebstrap $suite ${platform#linux/} ($packages)${source:+ from \"$source\"}"
  timed "$tag: rootfs" mmdebstrap --quiet --variant=apt --architectures="${platform#linux/}" \
    --include="$packages" "$suite" "$dir/rootfs.tar" ${source:+"$source"}
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

# L4T-like arm64 base, trait by trait from dusty-nv/jetson-containers L4T-R32.7.1 Dockerfile.tensorflow
# (docker/README.md lists each with its line): apt python3-pip, numpy, h5py, protobuf 3.19.4 with the
# cpp implementation, keras_preprocessing 1.1.2, gast 0.4.0, TF; no scikit-learn, Pillow or TF-Hub.
# NVIDIA's TF wheel is tagged linux_aarch64, which pip 9 installs; tensorflow-aarch64's manylinux2014
# wheels need pip >= 19.3, so the stack goes in with Debian's pip 20.3 and pip is downgraded to the
# L4T bases' 9.0.1 last (into /usr/local, ahead of Debian's on sys.path). h5py 3.6.0: the first with
# cp39 aarch64 wheels (the recipe's 3.1.0 has none); numpy 1.23.5 as in the TF 2.7 stand-in above;
# tensorboard 2.11.2, the newest that takes protobuf 3.19.4 (pip otherwise backtracks through ten
# releases under QEMU), keras and tensorflow-estimator 2.7.0 as tensorflow-aarch64 2.7.4 resolves them.
l4t_run='ENV PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=cpp
RUN --mount=type=secret,id=ca,required=false \
  set -e; if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
  pip3 install --no-cache-dir --disable-pip-version-check tensorflow-aarch64==2.7.4 \
    numpy==1.23.5 protobuf==3.19.4 h5py==3.6.0 keras-preprocessing==1.1.2 gast==0.4.0 \
    tensorboard==2.11.2 keras==2.7.0 tensorflow-estimator==2.7.0; \
  pip3 install --no-cache-dir --disable-pip-version-check pip==9.0.1; \
  python3 -m pip --version | grep "^pip 9.0.1 "; \
  for m in sklearn PIL tensorflow_hub; do if python3 -c "import $m" 2>/dev/null; then echo "$m present"; exit 1; fi; done; \
  python3 -c "from google.protobuf.internal import api_implementation as a; assert a.Type() == \"cpp\", a.Type(); import tensorflow as tf; print(tf.__version__, tf.reduce_sum(tf.ones([2,2])))"'

# amd64, the same pip 9.0.1 (over Debian's, as above) and numpy, nothing else: builds natively in
# seconds, so the Dockerfiles' pip logic is checked without emulation.
pip9_run='RUN --mount=type=secret,id=ca,required=false \
  set -e; if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
  pip3 install --no-cache-dir --disable-pip-version-check numpy==1.23.5 pip==9.0.1; \
  python3 -m pip --version | grep "^pip 9.0.1 "'

image "$TF_TAG" linux/amd64 bullseye python3,python3-pip,ca-certificates "$tf_run"
image "$ARM_TAG" linux/arm64 bookworm python3,python3-numpy,python3-sklearn,python3-pip,ca-certificates
image "$PIP9_TAG" linux/amd64 bullseye python3,python3-pip,ca-certificates "$pip9_run"
# main only: the security suite has no arm64 packages through this project's mirror (404)
deb_mirror=$(mirror)
image "$L4T_TAG" linux/arm64 bullseye python3,python3-pip,ca-certificates "$l4t_run" "deb $deb_mirror bullseye main"

docker run --rm --platform linux/amd64 "$TF_TAG" python3 -c \
  'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; import platform, tensorflow as tf, sklearn; print(platform.machine(), "python", platform.python_version(), "tf", tf.__version__, "sklearn", sklearn.__version__)' |
  sed "s|^|standin: $TF_TAG: |"
docker run --rm --platform linux/arm64 "$ARM_TAG" python3 -c \
  'import platform, numpy; print(platform.machine(), "python", platform.python_version(), "numpy", numpy.__version__)' |
  sed "s|^|standin: $ARM_TAG: |"
docker run --rm --platform linux/amd64 "$PIP9_TAG" python3 -m pip --version | sed "s|^|standin: $PIP9_TAG: |"
docker run --rm --platform linux/arm64 -e TF_CPP_MIN_LOG_LEVEL=2 "$L4T_TAG" python3 -c \
  'import platform, pip, tensorflow as tf; print(platform.machine(), "python", platform.python_version(), "pip", pip.__version__, "tf", tf.__version__)' |
  sed "s|^|standin: $L4T_TAG: |"
