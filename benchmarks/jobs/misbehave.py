"""A fault-injection job for the harness's own tests: it misbehaves on purpose (garbage output,
broken events, enormous lines, a silent hang, a crash, a memory hog) or, with `mode = "ok"`,
behaves and emits a few steps over `seconds`. It needs neither TensorFlow nor numpy."""

import os
import signal
import sys
import time

from ..events import PREFIX
from ..params import Param

DESCRIPTION = "fault injection for tests: garbage, bad events, huge lines, hang, crash, memory hog"

MODES = ("ok", "garbage", "bad_events", "huge_line", "hang", "stubborn", "crash", "alloc")

PARAMS = {
    "mode": Param("ok", "ok (steps for `seconds`, then ends ok), garbage (binary noise on stdout/stderr), "
                        "bad_events (prefixed lines that are not valid events), huge_line (one line of "
                        "`mb` MB, no newline for most of it), hang (no output, never ends), stubborn (hang, "
                        "ignoring SIGTERM and SIGINT), crash "
                        "(exits 7 without an end event), alloc (holds `mb` MB of touched memory)", MODES),
    "seconds": Param(1.0, "mode ok: how long to run, emitting a step every 0.1 s"),
    "mb": Param(8, "huge_line: the line's size; alloc: memory to allocate, in MB"),
    "device": Param("cpu", "unused (the job never uses a GPU)", ("auto", "cpu", "gpu")),
}


def needs_tensorflow(params):
    return False


def _out(data):
    """Raw bytes to stdout, bypassing the text layer (which would refuse invalid UTF-8)."""
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", sys.stdout)
    stream.write(data)
    stream.flush()


def run(params, emitter, context):
    mode = params["mode"]
    if mode == "ok":
        deadline = time.monotonic() + params["seconds"]
        step = 0
        while True:
            started = time.monotonic()
            time.sleep(0.1)
            step += 1
            emitter.step(0, step, time.monotonic() - started, 1)
            if time.monotonic() >= deadline:
                break
        emitter.flush()
        return {"steps_done": step}
    if mode == "garbage":
        noise = bytes(range(256)) * 64
        _out(noise + b"\n\x00\xff\xfe not utf-8 \xc3\x28\n" + noise[::-1] + b"\r\r\n")
        os.write(2, noise)
        return {"garbage_bytes": 2 * len(noise)}
    if mode == "bad_events":
        for line in ('{"v": 1, "event": "step", ', "[1, 2, 3]", '{"v": 999, "event": "step", "t": 1}',
                     '{"v": 1, "t": 1}', '{"v": 1, "event": "step"}', "\x00\x01 not json"):
            _out((PREFIX + line + "\n").encode("utf-8", "replace"))
        return {"bad_lines": 6}
    if mode == "huge_line":
        chunk = b"x" * (1 << 20)
        for _ in range(params["mb"]):
            _out(chunk)
        _out(b"\n" + (PREFIX + "{" + "y" * (1 << 20)).encode() + b"\n")
        return {"huge_mb": params["mb"]}
    if mode == "hang":
        while True:
            time.sleep(3600)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if mode == "crash":
        sys.stdout.flush()
        os._exit(7)
    if mode == "alloc":
        held = []
        for _ in range(params["mb"]):
            block = bytearray(1 << 20)
            for offset in range(0, len(block), 4096):
                block[offset] = 1  # touch every page, so the memory is really used
            held.append(block)
        return {"allocated_mb": len(held)}
    raise ValueError("unknown mode %r" % mode)
