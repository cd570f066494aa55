"""HTTP range requests (RFC 9110 section 14) for files served by a view, so a phone's video
player can seek and resume.

Django's FileResponse sends whole files only (ticket #22479); the packaged fixes are unkept
and read the whole file into memory. This answers one range per request (a multi-range
request gets the whole file, which RFC 9110 allows), reading only the bytes asked for
through the file object the storage API opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


class Unsatisfiable(Exception):
    """The range starts past the file's end (the answer is 416)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) that a ``Range`` header asks of a ``size``-byte file.

    None for no header, another unit, several ranges or a malformed one: the whole file
    is sent. ``bytes=-N`` is the last N bytes; an end past the file is cut to its last
    byte. Raises Unsatisfiable when the range starts at or past the end of the file.
    """
    match = _RANGE.match(header.replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size:
        raise Unsatisfiable
    if start > end:
        return None
    return start, end


class _Slice:
    """The bytes ``start``..``end`` of an open file, read a chunk at a time; closing it closes the file
    (the WSGI server closes the response, and the response its content)."""

    def __init__(self, file: IO[bytes], start: int, end: int) -> None:
        self.file, self.start, self.left = file, start, end - start + 1

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.start)
        while self.left > 0:
            data = self.file.read(min(CHUNK, self.left))
            if not data:
                return
            self.left -= len(data)
            yield data

    def close(self) -> None:
        self.file.close()


def ranged_file_response(
    request: HttpRequest, file: IO[bytes], *, size: int, content_type: str
) -> HttpResponseBase:
    """The file, or the part the request's ``Range`` header asks for.

    ``file``: open for reading (binary, seekable; closed with the response); ``size``:
    its length in bytes. 200 with the whole file and ``Accept-Ranges: bytes``, 206 with
    ``Content-Range`` for one satisfiable range, 416 with ``Content-Range: bytes */size``
    for a range past the end.
    """
    try:
        wanted = byte_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        file.close()
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(file, content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_Slice(file, start, end), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
