"""torchvision.io: reading and writing image files as uint8 tensors (through Pillow's
libjpeg, libpng, ...)."""
from ._common import ImageReadMode
from ._image import (decode_avif, decode_gif, decode_heic, decode_image, decode_png,
                     decode_webp, encode_png, read_file, read_image, write_file, write_png)
from ._jpeg import decode_jpeg, encode_jpeg, write_jpeg

__all__ = ["ImageReadMode", "decode_avif", "decode_gif", "decode_heic", "decode_image",
           "decode_jpeg", "decode_png", "decode_webp", "encode_jpeg",
           "encode_png", "read_file", "read_image", "write_file", "write_jpeg", "write_png"]
