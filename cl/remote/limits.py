"""What a side of the sync protocol accepts from its peer."""

from typing import NamedTuple

TIMEOUT = 600.0         # seconds a read from the peer may wait for a byte
MAX_OBJECT = 64 << 30   # bytes: the largest object accepted


class Limits(NamedTuple):
    """`timeout`: how long a read waits for the peer before it is taken
    for gone (config `sync.timeout`); `max_object`: the largest object
    accepted, in bytes (config `sync.max_object_size`).  (A NamedTuple:
    `cl serve-stdio` imports this, and dataclasses would add to its start.)"""

    timeout: float = TIMEOUT
    max_object: int = MAX_OBJECT
