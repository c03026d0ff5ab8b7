"""The event protocol: one JSON object per line, versioned.

Each event goes to `events.jsonl` in the job's output directory and to stdout behind
`PREFIX`, so a container's log stream carries the same events as the file. Writes are
buffered; the emitter flushes on every non-step event and at most every
`flush_interval` seconds for step events, so timing a step costs one buffered line.
"""

import json
import os
import sys
import time

VERSION = 1
PREFIX = "@@harness-event "
EVENTS_FILE = "events.jsonl"

_STEP_FORMAT = ('{"v":%d,"event":"step","t":%.6f,"epoch":%d,"step":%d,'
                '"seconds":%.6f,"batch_size":%d}')


def _jsonable(value):
    """Turn numpy scalars and other odd values into plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


class Emitter(object):
    """Writes events to the job's events file and to stdout."""

    def __init__(self, out_dir, stream=None, flush_interval=0.5):
        self._file = open(os.path.join(out_dir, EVENTS_FILE), "a")
        self._stream = stream if stream is not None else sys.stdout
        self._flush_interval = flush_interval
        self._last_flush = time.monotonic()

    def emit(self, event, **fields):
        record = {"v": VERSION, "event": event, "t": time.monotonic()}
        record.update(fields)
        self._write(json.dumps(record, default=_jsonable, separators=(",", ":")))
        self.flush()

    def step(self, epoch, step, seconds, batch_size):
        """The hot path: a preformatted line, flushed only when the interval has passed."""
        now = time.monotonic()
        self._write(_STEP_FORMAT % (VERSION, now, epoch, step, seconds, batch_size))
        if now - self._last_flush >= self._flush_interval:
            self.flush()

    def _write(self, line):
        self._file.write(line + "\n")
        self._stream.write(PREFIX + line + "\n")

    def flush(self):
        self._file.flush()
        try:
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader went away; the events file still has everything
        self._last_flush = time.monotonic()

    def close(self):
        self.flush()
        self._file.close()
