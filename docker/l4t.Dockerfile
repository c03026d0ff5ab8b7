# Jetson image (linux/arm64): job package on top of an NVIDIA L4T TensorFlow image, e.g.
# nvcr.io/nvidia/l4t-tensorflow:r32.7.1-tf2.7-py3 (JetPack 4.6.1, Ubuntu 18.04, Python 3.6).
# Built by docker-bake.hcl (targets tx2, tx2-tf1); see docker/README.md.
# No "# syntax=" line: the Dockerfile frontend built into the engine (Docker 20.10 on the
# TX2 and on CI) is used, so nothing is pulled to parse this file; RUN --mount works there.
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-tensorflow:r32.7.1-tf2.7-py3
FROM ${BASE_IMAGE}

# Job dependencies, small and pinned; they must install on Python 3.6 (TX2 images).
# scikit-learn 0.24.2 is the last release with cp36 manylinux2014_aarch64 wheels (with
# scipy 1.5.4); it is skipped when the base already imports sklearn. PIP_EXTRA: more
# requirement specs, space-separated. manylinux2014 wheels need pip >= 19.3; an older pip
# (the L4T bases keep Ubuntu 18.04's pip 9.0.1) is first upgraded to at most 21.3.x (the last
# release for Python 3.6). pip options are flags, never PIP_* variables: pip < 19 reads
# PIP_NO_CACHE_DIR=1 as a cache path and dies with "TypeError: expected str, bytes or
# os.PathLike object, not int" (pypa/pip#2897, #5385). PIP_BREAK_SYSTEM_PACKAGES (pip >= 23.0.1,
# PEP 668 bases) has no flag in older pips, which ignore the variable.
# The base's TensorFlow stack (tensorflow*, numpy, protobuf, h5py, keras) is held at its
# installed versions (pip -c), so the added packages never change what is measured.
# The optional secret "ca" is a CA bundle for TLS-intercepting proxies: mounted for this
# step only (/run/secrets/ca), never stored in the image. Without it pip uses its default.
ARG SKLEARN_VERSION=0.24.2
ARG PIP_EXTRA=""
# Image loading (ImageDataGenerator, generated datasets) and TF-Hub for the transfer and retrain
# labs; each is skipped when the base already has it, or when its version is set empty.
ARG PILLOW_VERSION=8.4.0
ARG HUB_VERSION=0.12.0
# The jtop client must match the jetson-stats service on the device (`jtop -v` there), so it
# is opt-in: set JTOP_VERSION (e.g. 4.3.2). Without it the telemetry sidecar uses tegrastats.
ARG JTOP_VERSION=""
# INDEX_URL: a package index to use instead of pip's default. pip 9's default is the index's
# legacy address (a redirect some networks do not resolve), so its self-upgrade is given the
# address that pip >= 10 uses by default.
ARG INDEX_URL=""
RUN --mount=type=secret,id=ca,required=false \
    set -e; \
    reqs="$PIP_EXTRA"; \
    python3 -c 'import sklearn' 2>/dev/null || reqs="scikit-learn==$SKLEARN_VERSION $reqs"; \
    python3 -c 'import PIL' 2>/dev/null || [ -z "$PILLOW_VERSION" ] || reqs="Pillow==$PILLOW_VERSION $reqs"; \
    python3 -c 'import tensorflow_hub' 2>/dev/null || [ -z "$HUB_VERSION" ] || reqs="tensorflow-hub==$HUB_VERSION $reqs"; \
    [ -z "$JTOP_VERSION" ] || reqs="jetson-stats==$JTOP_VERSION $reqs"; \
    if [ -z "$(echo $reqs)" ]; then echo "job dependencies already present"; exit 0; fi; \
    opts="--no-cache-dir --disable-pip-version-check"; \
    if [ -f /run/secrets/ca ]; then opts="$opts --cert /run/secrets/ca"; fi; \
    export PIP_BREAK_SYSTEM_PACKAGES=1; \
    python3 -m pip --version; \
    python3 -c 'import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (19, 3))' \
      || python3 -m pip install $opts -i "${INDEX_URL:-https://pypi.org/simple}" 'pip>=19.3,<22'; \
    python3 -m pip --version; \
    python3 -m pip list --format=freeze 2>/dev/null \
      | grep -iE '^(tensorflow[a-z0-9_-]*|numpy|protobuf|h5py|keras)==' >/tmp/keep.txt || true; \
    python3 -m pip install $opts ${INDEX_URL:+-i "$INDEX_URL"} -c /tmp/keep.txt $reqs; \
    rm -f /tmp/keep.txt; \
    python3 -c 'import sklearn; print("scikit-learn", sklearn.__version__)'

# numpy/OpenBLAS wheels can die with "Illegal instruction" on the TX2's Denver/A57 cores
# unless OpenBLAS is told the core type.
ENV OPENBLAS_CORETYPE=ARMV8 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    PYTHONPATH=/opt/harness

COPY benchmarks /opt/harness/harness_jobs

ARG TF_VERSION=2.7.0
ARG JOBS_VERSION=dev
ARG CREATED=""
ARG REVISION=""
ARG SOURCE=""
ARG VERSION=dev
ARG BASE_IMAGE
ENV HARNESS_JOBS_VERSION=${JOBS_VERSION}
LABEL org.opencontainers.image.title="harness jobs (L4T, TF ${TF_VERSION})" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      io.harness.family="l4t" \
      io.harness.base="${BASE_IMAGE}" \
      io.harness.tf-version="${TF_VERSION}" \
      io.harness.jobs-version="${JOBS_VERSION}"

WORKDIR /opt/harness
ENTRYPOINT ["python3", "-m", "harness_jobs"]
