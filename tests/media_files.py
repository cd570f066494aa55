"""Real pictures and videos for the media tests, made here: Pillow draws pictures (one with a
GPS position in its EXIF), a PNG header can claim any size, and Debian's ffmpeg encodes a
short test-pattern video."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

#: EXIF tag numbers (the EXIF 2.3 standard): the GPS block, and in it latitude and longitude.
GPS_IFD = 0x8825
GPS_LATITUDE = 2
GPS_LONGITUDE = 4


def picture(width: int = 800, height: int = 600, fmt: str = "JPEG", *, gps: bool = False) -> bytes:
    """A drawn picture (a figure on a mat) in ``fmt``; with ``gps``, EXIF naming where it was taken."""
    image = Image.new("RGB", (width, height), (230, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 10, height * 3 // 4, width * 9 // 10, height * 4 // 5), fill=(60, 120, 90))
    draw.ellipse(
        (width // 5, height // 2, width // 5 + height // 8, height // 2 + height // 8), fill=(30, 30, 30)
    )
    out = io.BytesIO()
    options: dict[str, object] = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif.get_ifd(GPS_IFD).update({GPS_LATITUDE: (51.0, 30.0, 0.0), GPS_LONGITUDE: (0.0, 7.0, 0.0)})
        options["exif"] = exif.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    real = picture(16, 16, "PNG")
    ihdr_at = 8
    length, kind = struct.unpack(">I4s", real[ihdr_at : ihdr_at + 8])
    assert kind == b"IHDR"
    body = struct.pack(">II", width, height) + real[ihdr_at + 16 : ihdr_at + 8 + length]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return real[:ihdr_at] + struct.pack(">I", length) + b"IHDR" + body + crc + real[ihdr_at + 12 + length :]


def video(path: Path, *, container: str = "webm", seconds: int = 2) -> bytes:
    """A ``seconds``-long test-pattern video made by ffmpeg (VP8 in WebM, or H.264 in MP4)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing: make test installs it (scripts/sysdeps.sh)"
    codec = (
        ["-c:v", "libvpx", "-b:v", "300k"]
        if container == "webm"
        else ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    )
    target = path / f"pattern.{container}"
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=duration={seconds}:size=320x240:rate=15",
            *codec,
            "-y",
            str(target),
        ],
        check=True,
        timeout=60,
    )
    return target.read_bytes()


def mp4_header(total: int) -> bytes:
    """``total`` bytes that begin as an MP4 file does (an ``ftyp`` box), for size-limit checks."""
    box = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 512, b"isomiso2")
    return box + b"\0" * (total - len(box))


def upload(
    content: bytes, name: str = "upload.jpg", content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
