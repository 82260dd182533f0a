#!/usr/bin/python3
"""Writes the Pillow goldens the image-preprocessing tests compare against, byte for byte.

Run from the repository root with Debian's Pillow (apt-get install python3-pil):

    /usr/bin/python3 tests/GpuWorker.Tests/Images/Goldens/make_goldens.py

For every screenshot in samples/gui it records the SHA-256 of the decoded RGB bytes (Hugging Face's convert_to_rgb:
image.convert("RGB"), which drops alpha) and of the bicubic resize to the size smart_resize gives with the Qwen2-VL
processor's default pixel range and with the tiny model's. A small half-transparent image (written here, committed)
gets full goldens: alpha dropped, composited onto white as qwen-vl-utils does, and both resized. A few resizes are
also stored in full (gzip of the raw [height, width, 3] bytes) so a failing test can count the differing values.
Seeded noise images resized between small sizes (up, down, one axis only, extreme ratios) and tiny PNGs of the
rarer encodings (16-bit, grey with alpha, palette with transparency) are stored inline, base64 of the raw bytes.
The build never runs this script; the tests read its outputs.
"""

import base64
import io
import gzip
import hashlib
import json
import math
import os
import random
import struct
import sys
import zlib

import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SAMPLES = os.path.join(ROOT, "samples", "gui")

FACTOR = 28
# (name, min_pixels, max_pixels): the Qwen2-VL image processor's defaults and the tiny model's.
RANGES = [("default", 56 * 56, 28 * 28 * 1280), ("tiny", 56 * 56, 28 * 28 * 64)]
# Resizes stored in full besides their hash.
FULL = {("web_05.png", "default"), ("mobile_01.png", "tiny"), ("desktop_01.png", "tiny")}


def smart_resize(height, width, factor=FACTOR, min_pixels=56 * 56, max_pixels=28 * 28 * 1280):
    """transformers' qwen2_vl smart_resize."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect ratio above 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def sha256(image):
    return hashlib.sha256(image.tobytes()).hexdigest()


def write_full(image, name):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(gzip.compress(image.tobytes(), compresslevel=9, mtime=0))


def half_transparent():
    """An 83 x 61 RGBA gradient whose alpha runs from 0 to 255, half of it at 128."""
    width, height = 83, 61
    image = Image.new("RGBA", (width, height))
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            r = (x * 255) // (width - 1)
            g = (y * 255) // (height - 1)
            b = (x * 7 + y * 13) % 256
            if x < width // 2:
                a = 128
            else:
                a = (y * 255) // (height - 1)
            pixels[x, y] = (r, g, b, a)
    return image


# (input width, input height, output width, output height) of the noise resizes.
NOISE = [(13, 7, 5, 4), (5, 4, 13, 9), (20, 10, 20, 6), (20, 10, 7, 10), (31, 17, 12, 29), (64, 48, 28, 56),
         (1000, 3, 7, 3), (3, 500, 3, 11), (97, 89, 96, 90), (9, 9, 9, 9), (1, 1, 5, 3)]


def b64(data):
    return base64.b64encode(data).decode("ascii")


def png_bytes(width, height, colour_type, bit_depth, rows, palette=None, transparency=None):
    """A PNG written by hand, so that the encodings Pillow's own encoder avoids can be tested."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + row for row in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if transparency is not None:
        out += chunk(b"tRNS", transparency)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def encodings():
    """Tiny PNGs of the rarer encodings: (name, bytes)."""
    values = [0x0000, 0x00FF, 0x0100, 0x7F80, 0x80FF, 0xFFFF]
    u16 = lambda *v: struct.pack(">" + "H" * len(v), *v)
    return [
        ("rgb16", png_bytes(6, 1, 2, 16, [b"".join(u16(v, 0xFFFF - v, (v * 7) & 0xFFFF) for v in values)])),
        ("rgba16", png_bytes(6, 1, 6, 16, [b"".join(u16(v, 0xFFFF - v, 0x1234, v) for v in values)])),
        ("grey16", png_bytes(6, 1, 0, 16, [b"".join(u16(v) for v in values)])),
        ("greyalpha16", png_bytes(6, 1, 4, 16, [b"".join(u16(v, 0x8000) for v in values)])),
        ("greyalpha8", png_bytes(4, 1, 4, 8, [bytes([10, 0, 100, 128, 200, 255, 255, 7])])),
        ("grey4", png_bytes(4, 1, 0, 4, [bytes([0x0F, 0x7A])])),
        ("palette_trns", png_bytes(4, 1, 3, 8, [bytes([0, 1, 2, 1])], palette=bytes([255, 0, 0, 0, 128, 255, 9, 9, 9]), transparency=bytes([0, 128]))),
    ]


def main():
    goldens = {"pillow": PIL.__version__, "factor": FACTOR, "screenshots": [], "transparency": {}}
    for name in sorted(os.listdir(SAMPLES)):
        if not name.endswith(".png"):
            continue
        with Image.open(os.path.join(SAMPLES, name)) as original:
            mode = original.mode
            rgb = original.convert("RGB")
        entry = {"file": name, "mode": mode, "width": rgb.width, "height": rgb.height, "decodedSha256": sha256(rgb), "resized": []}
        for range_name, min_pixels, max_pixels in RANGES:
            height, width = smart_resize(rgb.height, rgb.width, FACTOR, min_pixels, max_pixels)
            resized = rgb.resize((width, height), Image.BICUBIC)
            golden = {"range": range_name, "minPixels": min_pixels, "maxPixels": max_pixels, "width": width, "height": height, "sha256": sha256(resized)}
            if (name, range_name) in FULL:
                golden["full"] = f"{os.path.splitext(name)[0]}.{width}x{height}.rgb.gz"
                write_full(resized, golden["full"])
            entry["resized"].append(golden)
        goldens["screenshots"].append(entry)

    rgba = half_transparent()
    rgba.save(os.path.join(HERE, "half_transparent.png"))
    with Image.open(os.path.join(HERE, "half_transparent.png")) as reread:
        dropped = reread.convert("RGB")
        white = Image.new("RGB", reread.size, (255, 255, 255))
        white.paste(reread, mask=reread.split()[3])
    height, width = smart_resize(rgba.height, rgba.width)
    transparency = {"file": "half_transparent.png", "width": rgba.width, "height": rgba.height, "resizedWidth": width, "resizedHeight": height}
    for key, image in (("alphaDropped", dropped), ("compositedOnWhite", white)):
        write_full(image, f"half_transparent.{key}.rgb.gz")
        resized = image.resize((width, height), Image.BICUBIC)
        write_full(resized, f"half_transparent.{key}.{width}x{height}.rgb.gz")
        transparency[key] = {"decoded": f"half_transparent.{key}.rgb.gz", "resized": f"half_transparent.{key}.{width}x{height}.rgb.gz"}
    goldens["transparency"] = transparency

    goldens["noise"] = []
    for seed, (in_w, in_h, out_w, out_h) in enumerate(NOISE):
        source = random.Random(seed).randbytes(in_w * in_h * 3)
        image = Image.frombytes("RGB", (in_w, in_h), source)
        resized = image.resize((out_w, out_h), Image.BICUBIC)
        goldens["noise"].append({"width": in_w, "height": in_h, "source": b64(source),
                                 "resizedWidth": out_w, "resizedHeight": out_h, "resized": b64(resized.tobytes())})

    goldens["encodings"] = []
    for name, data in encodings():
        with Image.open(io.BytesIO(data)) as image:
            rgb = image.convert("RGB")
            goldens["encodings"].append({"name": name, "mode": image.mode, "png": b64(data), "width": rgb.width, "height": rgb.height, "rgb": b64(rgb.tobytes())})

    with open(os.path.join(HERE, "goldens.json"), "w") as f:
        json.dump(goldens, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
