"""Bounded fuzzing of what a peer sends (docs/protocol.md §2): random bytes
and random msgpack values reach the frame decoder, the object-frame
reader, the server's request handler, the client's refs check and the URL
parser; each either succeeds or raises a CLError (one clear line), never
anything else."""

import io

import msgpack
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cl.errors import CLError
from cl.objects.store import MemoryStore
from cl.refs.store import MemoryRefStore
from cl.remote import frames
from cl.remote.client import Client
from cl.remote.frames import FrameReader, encode, read_objects
from cl.remote.server import Server
from cl.remote.transport import Transport
from cl.remote.urls import parse_url

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ints = st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1)  # what msgpack can hold
scalars = st.one_of(st.none(), st.booleans(), ints,
                    st.floats(allow_nan=False), st.text(max_size=40), st.binary(max_size=40),
                    st.binary(min_size=32, max_size=32))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.text(max_size=10), ints), inner, max_size=5)),
    max_leaves=20)
tags = st.sampled_from(["p", "o", "b", "c", "x", "e", "!", "z"])
object_frames = st.one_of(values, st.tuples(tags, values, values).map(list),
                          st.tuples(tags, values).map(list), st.tuples(tags).map(list))


def reader_of(data: bytes) -> FrameReader:
    return FrameReader(io.BytesIO(data).read)


def drain(reader: FrameReader) -> None:
    for inc in read_objects(reader, max_object=1 << 16):
        if inc.stream is not None:
            inc.stream.read()


@FUZZ
@given(st.binary(max_size=2048))
@example(b"\x82\x00\x00\x80\x00")  # a map as a map key: msgpack raised TypeError through recv
def test_random_bytes_are_frames_or_a_clean_error(data):
    reader = reader_of(data)
    try:
        while True:
            reader.recv()
    except CLError:
        pass


@FUZZ
@given(st.lists(object_frames, max_size=6), st.binary(max_size=64))
def test_random_object_streams_are_objects_or_a_clean_error(values_, tail):
    data = b"".join(encode(v) for v in values_) + tail
    try:
        drain(reader_of(data))
    except CLError:
        pass


ops = st.one_of(st.sampled_from(["hello", "refs", "have", "get", "put", "update"]), values)
requests = st.builds(lambda op, rest: {**rest, "op": op}, ops,
                     st.dictionaries(st.sampled_from(["version", "prefixes", "names", "ids", "updates"]),
                                     values, max_size=3))


@FUZZ
@given(requests, st.lists(object_frames, max_size=4))
@example({"op": "refs", "prefixes": 1}, [])  # was a TypeError through the server's session
def test_random_requests_get_an_answer_not_a_traceback(request, body):
    server = Server(MemoryStore(), MemoryRefStore())
    reader = reader_of(b"".join(encode(v) for v in body) + frames.END)
    try:
        for chunk in server.handle(request, reader):
            assert isinstance(chunk, bytes)
    except CLError:
        pass


class Canned(Transport):
    """A transport whose every response is the given bytes."""

    def __init__(self, data: bytes):
        self.data = data

    def request(self, header, body=()):
        import contextlib

        @contextlib.contextmanager
        def respond():
            yield reader_of(self.data)
        return respond()


@FUZZ
@given(values)
def test_random_replies_to_the_client_are_a_clean_error(reply):
    client = Client(Canned(msgpack.packb(reply, use_bin_type=True)), "fuzz")
    for call in (lambda: client.refs(prefixes=["bundles/"], names=["HEAD"]),
                 lambda: client.have(["ab" * 32]),
                 lambda: client.update([("bundles/" + "ab" * 32, None, "cd" * 32)]),
                 lambda: list(client.get(["ab" * 32])),
                 lambda: client.hello()):
        try:
            call()
        except CLError:
            pass


@FUZZ
@given(st.text(max_size=80))
def test_random_urls_parse_or_are_refused(text):
    try:
        parse_url(text)
    except CLError:
        pass
