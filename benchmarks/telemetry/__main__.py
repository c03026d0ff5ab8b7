"""`python -m harness_jobs.telemetry --sources auto --interval 0.5`: the telemetry sidecar.

Runs next to the device (in a container with the host's PID namespace on a remote engine) and
prints one JSON object per line behind a fixed prefix, so the harness reads the samples from
the container's log stream: `facts` and `unavailable` once per source, then `sample`s with the
device's own monotonic clock (the clock the job's events use there), and a `note` when a source
had a gap (a jtop.service restart). Stops on SIGTERM.
"""

import argparse
import json
import signal
import sys
import time

from . import Unavailable
from .sources import DEVICE_SOURCES, open_sources, system_facts

PREFIX = "@@harness-telemetry "


def emit(kind, source, **fields):
    fields.update({"kind": kind, "source": source})
    sys.stdout.write(PREFIX + json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def emit_notes(reader, said):
    """The reader's new notes (gaps in its samples), each once."""
    notes = getattr(reader, "notes", None) or []
    for text in notes[said.get(reader.source, 0):]:
        emit("note", reader.source, t=time.monotonic(), text=text)
    said[reader.source] = len(notes)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m harness_jobs.telemetry", description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="auto", help="auto, or a comma list of: " + ", ".join(DEVICE_SOURCES))
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--tegrastats", default="tegrastats", help="the tegrastats executable")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: at SIGTERM)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sources.split(",") if n.strip()]
    bad = [n for n in names if n not in DEVICE_SOURCES + ("auto",)]
    if bad or not names or args.interval <= 0:
        parser.error("bad --sources %r or --interval %r" % (args.sources, args.interval))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    readers, unavailable = open_sources(names, args.interval, args.tegrastats)
    for source, reason in sorted(unavailable.items()):
        emit("unavailable", source, reason=reason)
    emit("system", "system", facts=system_facts())
    for reader in readers:
        emit("facts", reader.source, facts=reader.facts())
    started = time.monotonic()
    said = {}
    try:
        while readers and not stopping:
            for reader in list(readers):
                try:
                    values = reader.sample()
                    processes = reader.processes() if hasattr(reader, "processes") else None
                except Unavailable as why:
                    emit("unavailable", reader.source, reason=str(why))
                    readers.remove(reader)
                    continue
                if values is not None:
                    if processes is not None:
                        values["gpu_processes"] = {str(pid): mb for pid, mb in processes.items()}
                    emit("sample", reader.source, t=time.monotonic(), wall_time=time.time(), values=values)
                emit_notes(reader, said)
            if args.duration and time.monotonic() - started >= args.duration:
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        for reader in readers:
            reader.close()
            emit_notes(reader, said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
