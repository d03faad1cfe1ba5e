"""The inflated bytes of a WARC or ARC file, buffered for a record reader, and where they lie.

:class:`InflatedBuffer` pulls inflated (or plain) bytes from a :class:`~.warcgzip.Stream` into a
buffer a record reader consumes: ``_buf`` holds bytes not yet consumed, ``_base`` the inflated
offset of its first byte. It maps an inflated offset back to the file offset of the gzip member
holding it, and says where members start and end, so the WARC scan and the ARC scan report
offsets a reader can seek to.
"""

from __future__ import annotations

from .warcgzip import Hasher, Stream


class InflatedBuffer:
    """A buffer over a file's inflated bytes, for reading records one after another."""

    def __init__(self, stream: Stream, first: bytes = b"") -> None:
        self._stream = stream
        self._buf = bytearray(first)  # ``first``: bytes already pumped from the stream
        self._base = stream.source.origin  # inflated offset of _buf[0] (a range's start at its file offset)
        self._eof = False

    # -- buffer

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.pump()
        if data is None:
            self._eof = True
            return False
        self._buf += data
        return True

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._base += n

    def _unread(self, data: bytes) -> None:
        self._buf[0:0] = data
        self._base -= len(data)

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n and self._fill():
            pass
        data = bytes(self._buf[:n])
        self._consume(len(data))
        return data

    def _read_block(self, length: int, sink: Hasher) -> int:
        """Feed the next ``length`` bytes to ``sink`` without holding them; how many there were."""
        got = 0
        if self._buf:
            take = min(length, len(self._buf))
            with memoryview(self._buf) as view:  # no copy; released before the buffer is cut
                sink.update(view[:take])
            self._consume(take)
            got = take
        while got < length:
            data = self._stream.pump()
            if data is None:
                self._eof = True
                break
            want = length - got
            if len(data) <= want:
                sink.update(data)
                self._base += len(data)
                got += len(data)
            else:
                sink.update(memoryview(data)[:want])
                self._base += want
                self._buf += memoryview(data)[want:]
                got = length
        return got

    # -- where things are

    def _raw_offset(self, pos: int) -> int:
        """Raw file offset of the record (or member) holding inflated offset ``pos``."""
        if not self._stream.gzip:
            return pos
        raw = self._stream.source.origin
        for start in self._stream.bounds:
            if start.inflated > pos:
                break
            raw = start.raw
        return raw

    def _next_member(self, start: int) -> bool:
        """Skip to the first gzip member starting after inflated offset ``start``, if any."""
        while True:
            later = [bound.inflated for bound in self._stream.bounds if bound.inflated > start]
            if later and later[0] <= self._base + len(self._buf):
                if later[0] > self._base:
                    self._consume(later[0] - self._base)
                return True
            self._consume(len(self._buf))
            if not self._fill() and not self._recover():
                return False

    def _prune_bounds(self, pos: int) -> None:
        """Forget the starts of members before the one holding ``pos`` (starts come in file order)."""
        bounds = self._stream.bounds
        while len(bounds) > 1 and bounds[1].inflated <= pos:
            del bounds[0]

    def _starts_member(self, pos: int) -> bool:
        return any(start.inflated == pos for start in self._stream.bounds)

    def _member_ends_at(self, pos: int) -> bool:
        """True when a gzip member ends cleanly at inflated offset ``pos``."""
        if not self._stream.gzip:
            return False
        if self._starts_member(pos):
            return True
        return self._eof and not self._stream.errors and self._base + len(self._buf) == pos

    def _recover(self) -> bool:
        """After a broken gzip member, go on from the next member that inflates."""
        while self._stream.recover():
            self._eof = False
            self._consume(len(self._buf))
            if self._fill():
                return True
        return False
