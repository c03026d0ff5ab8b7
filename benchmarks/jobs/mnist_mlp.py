"""The seed lab's Keras MLP: Flatten(28x28) -> Dense(128, relu) -> Dropout -> Dense(10).

With the defaults it has exactly 101,770 trainable parameters. `l2` regularises the hidden
layers' kernels; `hidden_layers` repeats the Dense + Dropout block.
"""

from ..params import DEVICE, Param
from .. import compat, data, flops, timing

DESCRIPTION = "Keras MLP on MNIST-shaped digits (the L2 / dropout lab)"

PARAMS = {
    "dataset": Param("digits", "mnist (real, cached download), digits (offline, real), synthetic",
                     ("mnist", "digits", "synthetic")),
    "l2": Param(0.0, "L2 factor of the hidden layers' kernel regulariser"),
    "dropout": Param(0.2, "dropout rate after each hidden layer"),
    "hidden_units": Param(128, "units per hidden layer"),
    "hidden_layers": Param(1, "number of Dense + Dropout blocks"),
    "epochs": Param(5, "training epochs"),
    "batch_size": Param(32, "samples per training step"),
    "learning_rate": Param(0.001, "Adam learning rate"),
    "seed": Param(0, "random seed for weights, dropout and shuffling"),
    "limit": Param(0, "use at most this many training samples (0: all)"),
    "device": DEVICE,
}


def prepare(params, keras, cache_dir):
    """What `harness prepare` fetches into the cache for these parameters."""
    return [data.fetch(keras, "mnist.npz", data.MNIST_URL, cache_dir, data.MNIST_SHA256)] \
        if params["dataset"] == "mnist" else []


def build_model(keras, params):
    regularizer = keras.regularizers.l2(params["l2"]) if params["l2"] > 0 else None
    layers = [compat.input_layer(keras, (28, 28)), keras.layers.Flatten()]
    for _ in range(params["hidden_layers"]):
        layers.append(keras.layers.Dense(params["hidden_units"], activation="relu",
                                         kernel_regularizer=regularizer))
        layers.append(keras.layers.Dropout(params["dropout"]))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def trainable_params(model):
    import numpy as np
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def run(params, emitter, context):
    tf = context["tf"]
    keras = tf.keras
    compat.set_seed(tf, params["seed"])
    x_train, y_train, x_test, y_test = data.load_image_classification(
        params["dataset"], keras, context["cache_dir"])
    if params["limit"]:
        x_train, y_train = x_train[:params["limit"]], y_train[:params["limit"]]
    emitter.emit("dataset", name=params["dataset"], train_samples=len(x_train), test_samples=len(x_test))

    model = build_model(keras, params)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=params["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    step_flops = flops.training_step(tf, model, (28, 28), params["batch_size"])
    emitter.emit("model", **step_flops)
    timer = timing.step_timer(keras, emitter, len(x_train), params["batch_size"])
    history = model.fit(x_train, y_train, epochs=params["epochs"], batch_size=params["batch_size"],
                        validation_data=(x_test, y_test), callbacks=[timer], verbose=0)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    emitter.emit("eval", split="test", samples=len(x_test),
                 metrics={"loss": float(test_loss), "accuracy": float(test_accuracy)})
    last_epoch = compat.metric_logs(dict((k, v[-1]) for k, v in history.history.items()))
    return {
        "trainable_params": trainable_params(model),
        "final_accuracy": last_epoch.get("accuracy"),
        "final_loss": last_epoch.get("loss"),
        "final_val_accuracy": float(test_accuracy),
        "final_val_loss": float(test_loss),
        "flops_per_step": step_flops["flops_per_step"],
        "flops_method": step_flops["flops_method"],
    }
