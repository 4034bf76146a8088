"""Read the QR code off a scan or photo of a printed letter (PNG or JPEG), as hostile input.

Decoding is zxing-cpp's (a maintained wheel, no system library). Before any pixel is
decoded the file must be a PNG or JPEG no larger than `MAX_FILE_BYTES`, and its header
must declare at most `MAX_PIXELS` pixels (a 600-dpi scan of a letter page is ~34 million),
so a decompression bomb is refused from its header; Pillow's own bomb guard is kept on
and turned into an error as well.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from desktop_app.domain.errors import InputRejected, Problem

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 50_000_000
_FORMATS = ("PNG", "JPEG")


def read_codes(path: Path) -> list[str]:
    """The distinct texts of every QR code in the image (empty if there is none)."""
    from PIL import Image

    data = _read(path)
    name = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_FORMATS)
        except Image.UnidentifiedImageError:
            raise InputRejected(Problem("not a PNG or JPEG image", file=name)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputRejected(Problem(f"more than {MAX_PIXELS:,} pixels; refused", file=name)) from None
        except (OSError, ValueError, SyntaxError) as error:
            raise InputRejected(Problem(f"not a readable image ({error})", file=name)) from None
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise InputRejected(Problem(f"{width}×{height} pixels is more than {MAX_PIXELS:,}; refused", file=name))
        try:
            grey = image.convert("L")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputRejected(Problem(f"more than {MAX_PIXELS:,} pixels; refused", file=name)) from None
        except (OSError, ValueError, SyntaxError) as error:
            raise InputRejected(Problem(f"not a readable image ({error})", file=name)) from None
    return _decode(grey)


def _decode(image: object) -> list[str]:
    import zxingcpp

    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    texts: list[str] = []
    for code in found:
        if code.valid and code.text not in texts:
            texts.append(code.text)
    return texts


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputRejected(Problem(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not a scan of a letter",
                                        file=str(path)))
        return path.read_bytes()
    except OSError as error:
        raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(path))) from None
