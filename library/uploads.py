"""What an uploaded exercise picture or video is, found from its bytes and never from its name.

Pictures are opened and drawn again with Pillow, so only the pixels are kept: EXIF (with any
GPS position), comments and colour profiles are dropped, and a file that is not a whole
JPEG, PNG or WebP picture, or is too large in bytes or in pixels (a decompression bomb), is
refused before it is decoded. Videos are recognised by their container header (MP4's
``ftyp`` box, WebM's EBML header), through the ``filetype`` library. SVG is never accepted:
it is a document that can carry scripts, not a picture.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

from portal.errors import DomainError

#: Pillow's format name -> (content type, file extension) of the pictures Plinth keeps.
IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
#: Content type (as ``filetype`` names it) -> extension of the videos Plinth keeps.
VIDEO_TYPES: dict[str, str] = {"video/mp4": "mp4", "video/webm": "webm"}

#: Largest width or height, in pixels, of a picture accepted; and of the picture as stored
#: (a phone's 4000-pixel photo is kept at 2000: sharp on any screen, a quarter of the bytes).
IMAGE_MAX_SIDE = 8000
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_STORED_SIDE = 2000

ACCEPTED_WORDS = "a picture (JPEG, PNG or WebP) or a video (MP4 or WebM)"


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks: what to store (``content`` for a picture, drawn
    again; None for a video, stored as uploaded), its content type, extension and, for a
    picture, its size in pixels."""

    kind: str
    content: bytes | None
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def _over(what: str, size: int, limit: int) -> str:
    """ "The video is 50.0 MB, over the limit of 50 MB.": one decimal, so a file just over shows it."""
    megabyte = 1024 * 1024
    return f"The {what} is {size / megabyte:.1f} MB, over the limit of {limit / megabyte:g} MB."


def _head(upload: UploadedFile[bytes]) -> bytes:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    return bytes(head)


def upload_checked(upload: UploadedFile[bytes]) -> CheckedFile:
    """Find what ``upload`` is from its bytes and check it as a picture or a video.

    ``upload``: an uploaded file (any name; the name is never used). Returns a
    ``CheckedFile`` with ``kind`` ``"image"`` or ``"video"``. Size limits in bytes are
    settings EXERCISE_IMAGE_MAX_BYTES (10 MB) and EXERCISE_VIDEO_MAX_BYTES (50 MB).

    Raises DomainError (field ``file``): empty, not_media (neither a picture nor a
    video: a program, a document, SVG, a GIF...), too_large (over the byte limit),
    too_many_pixels (wider or taller than IMAGE_MAX_SIDE, or more than
    IMAGE_MAX_PIXELS), damaged (a picture that cannot be read to its end: truncated or
    corrupt).
    """
    size = upload.size or 0
    if size == 0:
        raise DomainError("The file is empty.", field="file", code="empty")
    head = _head(upload)
    guessed = filetype.guess(head)
    mime = guessed.mime if guessed is not None else ""
    if mime in VIDEO_TYPES:
        limit = settings.EXERCISE_VIDEO_MAX_BYTES
        if size > limit:
            raise DomainError(
                _over("video", size, limit) + " Shorten it or export it at a lower resolution.",
                field="file",
                code="too_large",
            )
        return CheckedFile(kind="video", content=None, content_type=mime, extension=VIDEO_TYPES[mime])
    if mime not in {content_type for content_type, _ in IMAGE_FORMATS.values()}:
        what = f" It looks like a .{guessed.extension} file." if guessed is not None else ""
        raise DomainError(
            f"This file is not {ACCEPTED_WORDS}.{what}",
            field="file",
            code="not_media",
        )
    limit = settings.EXERCISE_IMAGE_MAX_BYTES
    if size > limit:
        raise DomainError(
            _over("picture", size, limit),
            field="file",
            code="too_large",
        )
    return _image_checked(upload)


def _image_checked(upload: UploadedFile[bytes]) -> CheckedFile:
    """Open, bound and draw a picture again (see ``upload_checked`` for the errors)."""
    damaged = DomainError(
        "The picture could not be read to its end: the file is damaged or incomplete. "
        "Save it again and upload the new file.",
        field="file",
        code="damaged",
    )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns of a decompression bomb past its own limit; here that is a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as opened:
                if opened.format not in IMAGE_FORMATS:
                    raise DomainError(f"This file is not {ACCEPTED_WORDS}.", field="file", code="not_media")
                width, height = opened.size
                if max(width, height) > IMAGE_MAX_SIDE or width * height > IMAGE_MAX_PIXELS:
                    raise DomainError(
                        f"The picture is {width:,} x {height:,} pixels; the most accepted is "
                        f"{IMAGE_MAX_SIDE:,} pixels a side and {IMAGE_MAX_PIXELS // 1_000_000} megapixels.",
                        field="file",
                        code="too_many_pixels",
                    )
                fmt = opened.format
                opened.load()
                drawn = _redrawn(opened, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DomainError(
            "The picture has too many pixels; the most accepted is "
            f"{IMAGE_MAX_PIXELS // 1_000_000} megapixels.",
            field="file",
            code="too_many_pixels",
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise damaged from error
    content_type, extension = IMAGE_FORMATS[fmt]
    return CheckedFile(
        kind="image",
        content=drawn.getvalue(),
        content_type=content_type,
        extension=extension,
        width=drawn.width,
        height=drawn.height,
    )


class _Drawn(io.BytesIO):
    width: int
    height: int


def _redrawn(opened: Image.Image, fmt: str) -> _Drawn:
    """The picture's pixels only, turned upright (EXIF orientation), at most
    IMAGE_STORED_SIDE a side, encoded again in its own format without metadata."""
    image = ImageOps.exif_transpose(opened)
    image.thumbnail((IMAGE_STORED_SIDE, IMAGE_STORED_SIDE))
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        # Palettes (and their transparency, kept in the metadata) become plain RGBA pixels.
        image = image.convert("RGBA")
    # A fresh image from the pixels alone: nothing of the file's metadata can follow.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = _Drawn()
    options: dict[str, object] = {"quality": 85}
    if fmt == "JPEG":
        options["optimize"] = True
    elif fmt == "PNG":
        options = {"optimize": True}
    clean.save(out, format=fmt, **options)
    out.width, out.height = clean.size
    return out
