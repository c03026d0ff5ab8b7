"""The Keras callback that times every training step with a monotonic clock.

Per step it reads the clock twice and writes one buffered line (`Emitter.step`);
everything else happens once per epoch.
"""

import time

from . import compat


def step_timer(keras, emitter, n_samples, batch_size):
    """A callback emitting `step` and `epoch` events for `model.fit` on `n_samples`; it keeps
    the step durations (`step_seconds`) for jobs that compare them with something else."""
    steps_per_epoch = (n_samples + batch_size - 1) // batch_size
    last_batch_size = n_samples - (steps_per_epoch - 1) * batch_size
    clock = time.monotonic

    class StepTimer(keras.callbacks.Callback):
        epoch = 0
        epoch_start = 0.0
        batch_start = 0.0

        def __init__(self):
            super(StepTimer, self).__init__()
            self.step_seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_start = clock()

        def on_train_batch_begin(self, batch, logs=None):
            self.batch_start = clock()

        def on_train_batch_end(self, batch, logs=None):
            seconds = clock() - self.batch_start
            self.step_seconds.append(seconds)
            size = last_batch_size if batch == steps_per_epoch - 1 else batch_size
            emitter.step(self.epoch, batch, seconds, size)

        def on_epoch_end(self, epoch, logs=None):
            emitter.emit("epoch", epoch=epoch, seconds=clock() - self.epoch_start,
                         steps=steps_per_epoch, samples=n_samples, metrics=compat.metric_logs(logs))

    return StepTimer()
