"""Sparse files: copying a file's data while keeping its holes.

A file whose blocks cover less than its size has holes, ranges that read as
zeros and take no space.  `data_ranges` finds the ranges that hold data
(SEEK_DATA/SEEK_HOLE); `copy_sparse` copies only those and leaves the rest
of the destination a hole, where the file system can make one.  The bytes
read back are the same either way, so ids do not change."""

import errno
import os

CHUNK = 8 << 20
_ZEROS = bytes(CHUNK)


def is_sparse(st: os.stat_result) -> bool:
    """Whether a file's blocks cover less than its size (st_blocks are
    512-byte units whatever the file system's block size)."""
    return st.st_size > 0 and st.st_blocks * 512 < st.st_size


def data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    """(offset, length) of each range of `fd` that holds data, in order; the
    whole file where the file system cannot say."""
    ranges = []
    offset = 0
    try:
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole from here on
                    break
                raise
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            if end > start:
                ranges.append((start, end - start))
            offset = end
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise
        return [(0, size)]  # no SEEK_DATA here: all of it is data
    return ranges


def copy_range(src: int, dst: int, offset: int, length: int) -> None:
    """Copy bytes [offset, offset+length) of `src` to the same place in
    `dst`: in the kernel where it can, else through a buffer."""
    end = offset + length
    while offset < end:
        try:
            n = os.copy_file_range(src, dst, min(end - offset, 1 << 30), offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP,
                                 errno.EBADF, errno.EPERM):
                raise
            n = 0
        if n == 0:  # no copy_file_range between these files, or the source shrank
            break
        offset += n
    while offset < end:
        chunk = os.pread(src, min(CHUNK, end - offset), offset)
        if not chunk:
            return
        view = memoryview(chunk)
        while view:
            written = os.pwrite(dst, view, offset)
            view = view[written:]
            offset += written


def copy_sparse(src: int, dst: int, size: int | None = None) -> int:
    """Copy all of `src` into the empty file `dst`, holes kept as holes;
    returns the size."""
    if size is None:
        size = os.fstat(src).st_size
    for offset, length in data_ranges(src, size):
        copy_range(src, dst, offset, length)
    os.ftruncate(dst, size)  # a hole at the end, and the size whatever was copied
    return size


def store_sparse(src: int, dst: int, hasher) -> tuple[str, int]:
    """Copy `src` into the empty file `dst` keeping holes, then hash what
    `dst` holds -- its data ranges as read back, its holes as zeros -- so
    the id is that of the very bytes stored, whatever happens to `src`
    meanwhile.  Returns (hex id, size)."""
    size = copy_sparse(src, dst)
    position = 0
    for offset, length in data_ranges(dst, size):
        update_zeros(hasher, offset - position)
        end = offset + length
        while offset < end:
            chunk = os.pread(dst, min(CHUNK, end - offset), offset)
            if not chunk:
                raise OSError(errno.EIO, "a stored file shrank while it was hashed")
            hasher.update(chunk)
            offset += len(chunk)
        position = end
    update_zeros(hasher, size - position)
    return hasher.hexdigest(), size


def update_zeros(hasher, length: int) -> None:
    """Feed `length` zero bytes to a hasher (a hole's contents)."""
    while length > 0:
        n = min(length, CHUNK)
        hasher.update(_ZEROS if n == CHUNK else _ZEROS[:n])
        length -= n


def all_zeros(buf) -> bool:
    return buf == _ZEROS[:len(buf)] if len(buf) <= CHUNK else not any(buf)
