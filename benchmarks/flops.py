"""FLOPs of one training step of a Keras model (docs/explain.md).

Two counts of the forward pass of one sample:
- `profiler`: TensorFlow's own graph profiler (tf.compat.v1.profiler, float_operation) over a
  concrete function of the model's forward pass (TF 2.x, eager). It counts what the graph does:
  MatMul 2*m*n*k, Conv2D 2*k*k*cin*cout*h*w, BiasAdd one per element, and so on.
- `layers`: counted per layer, multiply-add = 2 FLOPs:
  Dense 2*in*units (+ units for the bias), Conv2D 2*kh*kw*cin/groups*cout*H*W (+ cout*H*W),
  DepthwiseConv2D 2*kh*kw*cin*multiplier*H*W (+ bias), BatchNormalization 4 per output element
  (subtract the mean, divide by the deviation, scale, shift); other layers (activations, pooling,
  dropout, reshapes, adds) count 0. Nested models are counted through their layers.

A training step is the forward pass, the gradient with respect to the inputs and the gradient
with respect to the weights: forward x3 for layers with trainable weights, x1 for frozen ones
(a frozen backbone is only run forward). The profiler's forward count is split the same way in
proportion to the per-layer count when one exists, else x3. Times the batch size.

Python 3.6 compatible; never imports harness.
"""

COUNTED = ("Dense", "Conv2D", "DepthwiseConv2D", "BatchNormalization")


def _dims(shape):
    """A shape as a list of ints or None; the first dimension (batch) dropped."""
    if shape is None:
        return None
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    shape = list(shape)
    if shape and isinstance(shape[0], (list, tuple)):
        return None  # several inputs or outputs
    return [None if d is None else int(d) for d in shape[1:]]


def _shape(layer, which):
    """The layer's input or output shape: `layer.input.shape` (Keras 3 and 2), else `input_shape`."""
    try:
        return _dims(getattr(layer, which).shape)
    except (AttributeError, ValueError, RuntimeError, TypeError):
        pass
    try:
        return _dims(getattr(layer, which + "_shape"))
    except (AttributeError, ValueError, RuntimeError, TypeError):
        return None


def _product(values):
    total = 1
    for value in values:
        total *= value
    return total


def layer_flops(layer):
    """Forward FLOPs of one sample through `layer`, or None when its shapes are unknown. 0 for
    layers the rule does not count."""
    kind = type(layer).__name__
    if kind not in COUNTED:
        return 0
    config = layer.get_config()
    out = _shape(layer, "output")
    inp = _shape(layer, "input")
    if out is None or inp is None or None in out or None in inp:
        return None
    bias = config.get("use_bias", False)
    if kind == "Dense":
        units = out[-1]
        positions = _product(out[:-1])  # Dense on a (steps, features) input applies per step
        return positions * (2 * inp[-1] * units + (units if bias else 0))
    if kind == "BatchNormalization":
        return 4 * _product(out)
    kh, kw = config["kernel_size"]
    last = config.get("data_format", "channels_last") != "channels_first"
    cin = inp[-1] if last else inp[0]
    spatial = _product(out[:-1] if last else out[1:])
    if kind == "DepthwiseConv2D":
        cout = cin * config.get("depth_multiplier", 1)
        return spatial * (2 * kh * kw * cout + (cout if bias else 0))
    cout = out[-1] if last else out[0]
    groups = config.get("groups", 1) or 1
    return spatial * (2 * kh * kw * (cin // groups) * cout + (cout if bias else 0))


def _leaves(model):
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer.layers:
            for inner in _leaves(layer):
                yield inner
        else:
            yield layer


def count_layers(model):
    """(trainable forward FLOPs, frozen forward FLOPs) of one sample, or None when a layer that
    holds weights cannot be counted (a TF-Hub layer, an unknown shape)."""
    trainable, frozen = 0, 0
    for layer in _leaves(model):
        flops = layer_flops(layer)
        if flops is None or (flops == 0 and type(layer).__name__ not in COUNTED and layer.weights
                             and type(layer).__name__ != "Embedding"):
            return None
        if layer.trainable and layer.trainable_weights:
            trainable += flops
        else:
            frozen += flops
    return trainable, frozen


def profile_forward(tf, model, input_shape):
    """Forward FLOPs of one sample from TensorFlow's graph profiler, or None where it does not
    run (TF 1.x graph mode, a model that cannot be traced, a profiler that fails)."""
    if not hasattr(tf, "function") or not tf.executing_eagerly():
        return None
    try:
        spec = tf.TensorSpec([1] + list(input_shape), tf.float32)
        concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        info = tf.compat.v1.profiler.profile(concrete.graph, options=options)
        return int(info.total_float_ops) or None
    except Exception:  # noqa - any failure: the per-layer count stands in
        return None


def training_step(tf, model, input_shape, batch_size):
    """The `model` event's fields: FLOPs of one training step and how they were counted."""
    counted = count_layers(model)
    profiled = profile_forward(tf, model, input_shape)
    fields = {"flops_layers_forward": None if counted is None else sum(counted),
              "flops_profiler_forward": profiled, "flops_batch_size": batch_size}
    if profiled is not None:
        forward, method = profiled, "profiler"
    elif counted is not None:
        forward, method = sum(counted), "layers"
    else:
        fields.update(flops_per_step=None, flops_method=None)
        return fields
    if counted is not None and sum(counted) > 0:
        factor = (3.0 * counted[0] + counted[1]) / sum(counted)
    else:
        factor = 3.0
    fields.update(flops_per_step=float(forward * factor * batch_size), flops_method=method,
                  flops_per_sample_forward=forward)
    return fields
