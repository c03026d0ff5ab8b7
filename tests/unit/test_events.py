import io
import json

import pytest

from harness_jobs.events import EVENTS_FILE, PREFIX, Emitter
from harness.events import BadEvent, parse_line


def test_emitted_lines_parse_and_match_the_file(tmp_path):
    stream = io.StringIO()
    emitter = Emitter(str(tmp_path), stream=stream)
    emitter.emit("start", job="j", params={"a": 1})
    emitter.step(0, 3, 0.0125, 32)
    emitter.emit("end", status="ok", error=None, metrics={})
    emitter.close()
    streamed = [parse_line(line + "\n") for line in stream.getvalue().splitlines()]
    stored = [json.loads(line) for line in (tmp_path / EVENTS_FILE).read_text().splitlines()]
    assert streamed == stored
    assert [e["event"] for e in stored] == ["start", "step", "end"]
    assert stored[1] == {"v": 1, "event": "step", "t": stored[1]["t"], "epoch": 0, "step": 3,
                         "seconds": 0.0125, "batch_size": 32}


def test_ordinary_output_is_not_an_event():
    assert parse_line("Epoch 1/5\n") is None


@pytest.mark.parametrize("payload, message", [
    ("{not json", "invalid JSON"),
    ('["step"]', "not an event object"),
    ('{"v": 99, "event": "step", "t": 1}', "event version 99"),
    ('{"v": 1, "event": "step"}', "without a time"),
])
def test_bad_event_lines_raise_bad_event(payload, message):
    with pytest.raises(BadEvent, match=message):
        parse_line(PREFIX + payload)


def test_unknown_fields_are_kept():
    event = parse_line(PREFIX + '{"v": 1, "event": "custom", "t": 1.5, "extra": [1]}')
    assert event["extra"] == [1]
