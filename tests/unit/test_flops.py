"""harness_jobs.flops with real TensorFlow: the per-layer rule against hand counts, and against
TensorFlow's own graph profiler where it runs (TF 2.x eager). About 10 s (TensorFlow's import)."""

from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")

from harness_jobs import flops  # noqa: E402
from harness_jobs.jobs import mnist_mlp  # noqa: E402

MLP_FORWARD = (2 * 784 * 128 + 128) + (2 * 128 * 10 + 10)  # multiply-add = 2, one add per bias


def mlp(**changes):
    params = {"l2": 0.0, "dropout": 0.2, "hidden_units": 128, "hidden_layers": 1, **changes}
    return mnist_mlp.build_model(tf.keras, params)


def test_the_mlp_counts_two_flops_per_weight_plus_its_biases():
    model = mlp()
    assert mnist_mlp.trainable_params(model) == 101770
    assert flops.count_layers(model) == (MLP_FORWARD, 0)
    assert MLP_FORWARD == 2 * 101770 - 128 - 10  # "2 x params": each bias is one add, not two


def test_the_profiler_agrees_with_the_layer_count_on_the_mlp():
    profiled = flops.profile_forward(tf, mlp(), (28, 28))
    assert profiled is not None, "TensorFlow's profiler should run on TF 2.x"
    assert abs(profiled - MLP_FORWARD) <= 0.01 * MLP_FORWARD


def test_a_training_step_is_three_forward_passes_times_the_batch():
    fields = flops.training_step(tf, mlp(), (28, 28), 32)
    assert fields["flops_method"] == "profiler" and fields["flops_layers_forward"] == MLP_FORWARD
    assert fields["flops_per_step"] == pytest.approx(3 * fields["flops_profiler_forward"] * 32)


def test_convolutions_and_batch_norm_by_hand_and_by_the_profiler():
    k = tf.keras
    model = k.Sequential([k.Input((8, 8, 3)), k.layers.Conv2D(4, 3, padding="same"),
                          k.layers.DepthwiseConv2D(3, padding="valid", use_bias=False),
                          k.layers.BatchNormalization(), k.layers.Flatten(), k.layers.Dense(2)])
    conv = 8 * 8 * (2 * 3 * 3 * 3 * 4 + 4)   # 64 positions, 3x3x3 kernel, 4 filters, bias
    depthwise = 6 * 6 * (2 * 3 * 3 * 4)      # valid: 6x6 out, 4 channels, no bias
    batch_norm = 4 * 6 * 6 * 4
    dense = 2 * 144 * 2 + 2
    assert flops.count_layers(model) == (conv + depthwise + batch_norm + dense, 0)
    profiled = flops.profile_forward(tf, model, (8, 8, 3))
    without_bn = conv + depthwise + dense  # the profiler's batch-norm count differs by design: bounded below
    assert profiled is not None and without_bn <= profiled <= without_bn + batch_norm * 1.5


def test_frozen_layers_count_forward_only():
    model = mlp()
    model.layers[1].trainable = False  # the hidden Dense: a frozen backbone
    frozen = 2 * 784 * 128 + 128
    assert flops.count_layers(model) == (MLP_FORWARD - frozen, frozen)
    fields = flops.training_step(tf, model, (28, 28), 1)
    assert fields["flops_per_step"] == pytest.approx(fields["flops_profiler_forward"]
                                                     * (3 * (MLP_FORWARD - frozen) + frozen) / MLP_FORWARD)


def test_a_layer_with_weights_the_rule_does_not_know_makes_the_count_unknown():
    k = tf.keras
    model = k.Sequential([k.Input((4, 8)), k.layers.LayerNormalization(), k.layers.Dense(2)])
    assert flops.count_layers(model) is None
    fields = flops.training_step(tf, model, (4, 8), 2)
    assert fields["flops_method"] == "profiler" and fields["flops_per_step"] > 0
