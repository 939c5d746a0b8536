"""SD1.5 aspect-ratio buckets, as sd-scripts builds them (`make_bucket_resolutions`):
every (w, h) with sides in steps of 64 between 256 and 1024 and w·h ≤ 512²; an image
goes to the bucket whose aspect ratio is nearest its own. Stdlib only."""

from __future__ import annotations

import math
from functools import lru_cache


@lru_cache(maxsize=16)
def bucket_resolutions(resolution: int = 512, min_side: int = 256, max_side: int = 1024,
                       step: int = 64) -> tuple[tuple[int, int], ...]:
    max_area = resolution * resolution
    side = int(math.sqrt(max_area) // step) * step
    resos = {(side, side)}
    width = min_side
    while width <= max_side:
        height = min(max_side, int((max_area // width) // step) * step)
        if height >= min_side:
            resos.add((width, height))
            resos.add((height, width))
        width += step
    return tuple(sorted(resos))


def choose_bucket(width: int, height: int, resolution: int = 512, min_side: int = 256,
                  max_side: int = 1024, step: int = 64) -> tuple[int, int]:
    """The bucket for an image of `width`×`height` (after EXIF rotation)."""
    aspect = math.log(width / height)
    return min(bucket_resolutions(resolution, min_side, max_side, step),
               key=lambda b: (abs(math.log(b[0] / b[1]) - aspect), -b[0] * b[1]))
