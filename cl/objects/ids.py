"""Object ids: the blake3-256 digest of an object's exact stored bytes."""

import functools

import blake3

HEX_LEN = 64
HEX_DIGITS = "0123456789abcdef"


class ObjectId(str):
    """64 lowercase hex digits.  Shown to people as `0x` + hex."""

    __slots__ = ()

    def __new__(cls, value: str):
        if not isinstance(value, str):
            raise TypeError(f"not an object id: {value!r}")
        try:  # hex digits, lowercase: a round trip through bytes gives them back (a tree's thousands of ids)
            ok = len(value) == HEX_LEN and bytes.fromhex(value).hex() == value
        except ValueError:  # not hex, or not ASCII
            ok = False
        if not ok:
            raise ValueError(f"not an object id: {value!r}")
        return str.__new__(cls, value)

    @classmethod
    def many(cls, values) -> tuple["ObjectId", ...]:
        """`ObjectId(v)` of each value, checked together: one join and one
        round trip through bytes for a tree's hundreds of ids.  A
        ValueError or TypeError does not say which value is wrong; the
        caller that must say it checks them one by one."""
        joined = "".join(values)
        if set(map(len, values)) - {HEX_LEN} or bytes.fromhex(joined).hex() != joined:
            raise ValueError("not object ids")
        return tuple(map(_as_id, values))

    @classmethod
    def of_digest(cls, raw: bytes) -> "ObjectId":
        """The id whose 32 bytes are `raw` (hex of 32 bytes is always an
        id, so there is nothing to check)."""
        return str.__new__(cls, raw.hex())

    @classmethod
    def of_digests(cls, raws) -> list["ObjectId"]:
        """`of_digest` of each of many 32-byte values, without a Python
        call per id."""
        return list(map(_as_id, map(bytes.hex, raws)))

    @property
    def display(self) -> str:
        return "0x" + self

    @property
    def short(self) -> str:
        return "0x" + self[:6]


_as_id = functools.partial(str.__new__, ObjectId)  # an ObjectId of a checked str, without checking it again


def hash_bytes(data: bytes) -> ObjectId:
    return ObjectId.of_digest(blake3.blake3(data).digest())


def hashes_to(data: bytes, oid: str) -> bool:
    """Whether `data` is the object `oid`; builds no id (a receiver asks it
    of every object)."""
    return blake3.blake3(data).hexdigest() == oid


def new_hasher(spread: bool = False):
    """An incremental id hasher.  `spread` lets blake3 hash each large
    update on every core, which pays only when nothing else is busy (fsck
    re-hashing the store).  Ingesting or receiving, the other cores copy
    and write, and its idle workers spin (sched_yield, thousands of times
    per upload) between updates, slowing them."""
    return blake3.blake3(max_threads=blake3.blake3.AUTO) if spread else blake3.blake3()


def is_hex_prefix(text: str) -> bool:
    return bool(text) and not text.strip(HEX_DIGITS)
