# One image per target architecture/TF flavour, all with the same job package (benchmarks/).
#   docker buildx bake --print            # resolved config
#   docker buildx bake --load rtx2080     # one target into the local engine
#   docker buildx bake jetson             # group: tx2, tx2-tf1 (linux/arm64)
# Every variable can be set from the environment, e.g.
#   RTX2080_BASE=harness-standin/tf2.7:amd64 CA_FILE=/etc/ssl/certs/ca-certificates.crt \
#     docker buildx bake --load rtx2080
# Works with buildx 0.13 on engine 20.10 (no named `contexts`: bases go in via ARG BASE_IMAGE).
# See docker/README.md for why each base tag was chosen.

# --- naming -------------------------------------------------------------------------------
variable "REGISTRY" {
  # prefix with a trailing slash, e.g. "ghcr.io/me/"; empty: local names only
  default = ""
}
variable "TAG" {
  default = "dev"
}
variable "JOBS_VERSION" {
  # version of benchmarks/ baked into the image (label io.harness.jobs-version)
  default = "dev"
}

# --- OCI metadata -------------------------------------------------------------------------
variable "SOURCE_URL" {
  default = ""
}
variable "REVISION" {
  # e.g. REVISION=$(git rev-parse HEAD)
  default = ""
}
variable "CREATED" {
  # RFC 3339; empty: the time of the bake
  default = ""
}

# --- optional CA bundle for pip behind a TLS-intercepting proxy (BuildKit secret "ca") ----
variable "CA_FILE" {
  default = ""
}

# --- base images --------------------------------------------------------------------------
variable "TX2_BASE" {
  default = "nvcr.io/nvidia/l4t-tensorflow:r32.7.1-tf2.7-py3"
}
variable "TX2_TF1_BASE" {
  default = "nvcr.io/nvidia/l4t-tensorflow:r32.7.1-tf1.15-py3"
}
variable "RTX2080_BASE" {
  default = "tensorflow/tensorflow:2.7.0-gpu"
}
variable "RTX2080_TF1_BASE" {
  default = "tensorflow/tensorflow:1.15.5-gpu-py3"
}
variable "TF_LATEST_VERSION" {
  default = "2.19.0"
}
variable "CUDA_LATEST_BASE" {
  default = "tensorflow/tensorflow:${TF_LATEST_VERSION}-gpu"
}

# --- TF versions in the bases (labels only) and pinned job dependencies ---------------------
variable "TF2_VERSION" {
  default = "2.7.0"
}
variable "TF1_VERSION" {
  default = "1.15.5"
}
variable "SKLEARN_PY36_VERSION" {
  # last scikit-learn with cp36 wheels (x86_64 and aarch64): TX2 images, rtx2080-tf1
  default = "0.24.2"
}
variable "SKLEARN_PY38_VERSION" {
  # last with cp38 wheels: tensorflow/tensorflow:2.7.0-gpu (Python 3.8)
  default = "1.3.2"
}
variable "SKLEARN_LATEST_VERSION" {
  default = "1.6.1"
}

variable "PILLOW_PY36_VERSION" {
  # last Pillow with cp36 wheels (x86_64 and aarch64); empty: do not install it
  default = "8.4.0"
}
variable "PILLOW_VERSION" {
  default = "10.4.0"
}
variable "HUB_PY36_VERSION" {
  # tensorflow-hub for TF 1.15 to 2.15 (Python 3.6 and newer); empty: do not install it
  default = "0.12.0"
}
variable "HUB_VERSION" {
  default = "0.12.0"
}
variable "JTOP_VERSION" {
  # jetson-stats in the Jetson images, matching the device's jtop service; empty: not installed
  default = ""
}
variable "HUB_LATEST_VERSION" {
  # TF >= 2.16: needs tf-keras (PIP_EXTRA below)
  default = "0.16.1"
}

# --- shared settings ------------------------------------------------------------------------
target "_common" {
  context = "."
  args = {
    JOBS_VERSION = JOBS_VERSION
    VERSION      = TAG
    SOURCE       = SOURCE_URL
    REVISION     = REVISION
    CREATED      = CREATED != "" ? CREATED : timestamp()
  }
  secret = CA_FILE != "" ? ["id=ca,src=${CA_FILE}"] : []
}
target "_l4t" {
  inherits   = ["_common"]
  dockerfile = "docker/l4t.Dockerfile"
  platforms  = ["linux/arm64"]
}
target "_cuda" {
  inherits   = ["_common"]
  dockerfile = "docker/cuda.Dockerfile"
  platforms  = ["linux/amd64"]
}

# --- Jetson TX2 (JetPack 4.6.1 / L4T R32.7.1, Python 3.6) -----------------------------------
target "tx2" {
  inherits = ["_l4t"]
  tags     = ["${REGISTRY}harness-tx2:${TAG}"]
  args = {
    BASE_IMAGE      = TX2_BASE
    TF_VERSION      = TF2_VERSION
    SKLEARN_VERSION = SKLEARN_PY36_VERSION
    PILLOW_VERSION  = PILLOW_PY36_VERSION
    HUB_VERSION     = HUB_PY36_VERSION
    JTOP_VERSION    = JTOP_VERSION
  }
}
target "tx2-tf1" {
  inherits = ["_l4t"]
  tags     = ["${REGISTRY}harness-tx2-tf1:${TAG}"]
  args = {
    BASE_IMAGE      = TX2_TF1_BASE
    TF_VERSION      = TF1_VERSION
    SKLEARN_VERSION = SKLEARN_PY36_VERSION
    PILLOW_VERSION  = PILLOW_PY36_VERSION
    HUB_VERSION     = HUB_PY36_VERSION
    JTOP_VERSION    = JTOP_VERSION
  }
}

# --- desktop / cloud x86_64 CUDA ------------------------------------------------------------
target "rtx2080" {
  inherits = ["_cuda"]
  tags     = ["${REGISTRY}harness-rtx2080:${TAG}"]
  args = {
    BASE_IMAGE      = RTX2080_BASE
    TF_VERSION      = TF2_VERSION
    SKLEARN_VERSION = SKLEARN_PY38_VERSION
    PILLOW_VERSION  = PILLOW_VERSION
    HUB_VERSION     = HUB_VERSION
  }
}
target "rtx2080-tf1" {
  inherits = ["_cuda"]
  tags     = ["${REGISTRY}harness-rtx2080-tf1:${TAG}"]
  args = {
    BASE_IMAGE      = RTX2080_TF1_BASE
    TF_VERSION      = TF1_VERSION
    SKLEARN_VERSION = SKLEARN_PY36_VERSION
    PILLOW_VERSION  = PILLOW_PY36_VERSION
    HUB_VERSION     = HUB_PY36_VERSION
  }
}
target "cuda-latest" {
  inherits = ["_cuda"]
  tags     = ["${REGISTRY}harness-cuda-latest:${TAG}"]
  args = {
    BASE_IMAGE      = CUDA_LATEST_BASE
    TF_VERSION      = TF_LATEST_VERSION
    SKLEARN_VERSION = SKLEARN_LATEST_VERSION
    PILLOW_VERSION  = PILLOW_VERSION
    HUB_VERSION     = HUB_LATEST_VERSION
    # Keras 2 for tf.keras / TF-Hub under TF >= 2.16 (with TF_USE_LEGACY_KERAS=1)
    PIP_EXTRA = "tf-keras~=${TF_LATEST_VERSION}"
  }
}

group "jetson" {
  targets = ["tx2", "tx2-tf1"]
}
group "desktop" {
  targets = ["rtx2080", "rtx2080-tf1", "cuda-latest"]
}
group "default" {
  targets = ["jetson", "desktop"]
}
