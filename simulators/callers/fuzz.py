"""Seeded malformed Media Streams messages: handshakes and in-call messages.

Used by the security tests and ``python -m bench security``.
"""

from __future__ import annotations

import json
import random

from simulators.callers import media_streams as wire
from simulators.callers.twiml import random_sid

# "\\ud800" is the JSON escape of a lone surrogate (what a hostile client can send as text).
_MUTATIONS = ['"', "{", "}", "[", "]", ",", ":", "0", "\\", "x", "", "\\ud800", "\n"]


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        chars[rng.randrange(len(chars))] = rng.choice(_MUTATIONS)
    return "".join(chars)


def handshakes(seed: int, count: int) -> list[str | bytes]:
    """Malformed ``start`` messages: fixed shapes first, then seeded mutations of a real one."""
    real = wire.start(1, random_sid("AC"), random_sid("CA"), random_sid("MZ"), {
        "persona": "receptionist", "call_id": "call_x", "media_token": "1.a.b"})

    def params(**values: object) -> str:
        return json.dumps({**real, "start": {**real["start"], "customParameters": {
            "call_id": "c", "persona": "receptionist", "media_token": "1.a.b", **values}}})

    shapes: list[str | bytes] = [
        b"\x00\x01binary", "not json", "[]", "5", "null", '"start"',
        json.dumps({"event": "start", "start": 5}),
        json.dumps({"event": "start", "start": []}),
        json.dumps({"event": "start", "start": {"customParameters": []}}),
        params(media_token=5), params(media_token=["x"]), params(media_token={"a": 1}),
        params(media_token="9" * 5000 + ".a.b"), params(call_id="c\ud800"),
        params(call_id="../../x"), params(persona=None),
        json.dumps({**real, "start": {**real["start"], "callSid": {"a": 1}}}),
    ]
    rng = random.Random(seed)
    text = json.dumps(real)
    while len(shapes) < count:
        shapes.append(_mutate(rng, text))
    return shapes[:count]


FIXED_IN_CALL = [
    '{"event": "media", "media": {"payload": "%%% not base64 %%%"}}',
    "[]",
    '{"event": "media", "media": "a string"}',
    '{"event": "media", "media": {"payload": 12345}}',
    "not json at all",
    '{"event": "dtmf", "dtmf": 7}',
]
"""Malformed in-call messages the security probe sent (each once ended the call)."""


def in_call(seed: int, count: int, stream_sid: str) -> list[str]:
    """Seeded malformed (or odd) in-call messages: mutations of media, mark and DTMF messages."""
    rng = random.Random(seed)
    valid = [
        json.dumps(wire.media(7, 7, stream_sid, b"\xff" * 160)),
        json.dumps(wire.mark(8, stream_sid, "sb-1-1")),
        json.dumps(wire.dtmf(9, stream_sid, "5")),
    ]
    out = list(FIXED_IN_CALL)
    while len(out) < count:
        out.append(_mutate(rng, rng.choice(valid)))
    return out[:count]
