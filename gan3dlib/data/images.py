"""Photo collections for training: an image folder or a StyleGAN ``dataset_tool`` zip archive.

Every item is a float32 tensor of shape (3, R, R) with values in [-1, 1] (StyleGAN convention:
``value = uint8 / 127.5 - 1``), made by decoding the file with Pillow, converting it to 8-bit RGB,
centre-cropping the largest square (the shorter side) and resizing that square to R x R with a
Lanczos filter. Pillow's Lanczos resampling widens its kernel by the reduction factor, so
downsampling is antialiased (a proper low-pass filter, not point sampling); upsampling of small
images uses the same filter.

Bad data never stops a run: a file that cannot be decoded is logged once (one warning line naming
the file and the error), counted in [`ImageDataset.num_skipped`][gan3dlib.data.images.ImageDataset.num_skipped] and replaced by the next
readable image (wrapping around at the end).
"""

from __future__ import annotations

import io
import logging
import operator
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps

from gan3dlib.utils.checks import check_positive, describe

__all__ = ["ImageDatasetConfig", "ImageDataset", "infinite_loader", "load_image"]

logger = logging.getLogger(__name__)

DEFAULT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class ImageDatasetConfig:
    """Where the training photos are and how they are prepared.

    Attributes:
        path: a folder searched recursively for images, or a ``.zip`` archive such as the ones
            written by StyleGAN's ``dataset_tool.py`` (images anywhere inside; ``dataset.json``
            and other files are ignored).
        resolution: training resolution R; items are (3, R, R).
        hflip: flip each item horizontally with probability 0.5. With ``seed`` set the decision
            is a deterministic function of ``(seed, epoch, index)`` (see
            [`ImageDataset.set_epoch`][gan3dlib.data.images.ImageDataset.set_epoch]); without it, it is drawn from torch's global RNG,
            which DataLoader seeds differently in each worker process.
        max_images: use only the first ``max_images`` files of the sorted listing.
        extensions: file suffixes treated as images, compared case-insensitively.
        seed: seed of the deterministic flips (a non-negative integer), or ``None``.
        alpha_matte: colour that transparent pixels are composited over (``'white'`` or
            ``'black'``).
    """

    path: str
    resolution: int
    hflip: bool = False
    max_images: int | None = None
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    seed: int | None = None
    alpha_matte: Literal["white", "black"] = "white"

    def __post_init__(self) -> None:
        if not isinstance(self.path, (str, os.PathLike)):
            raise ValueError(f"path: expected a folder or .zip path (str), got {describe(self.path)}")
        object.__setattr__(self, "path", os.fspath(self.path))
        check_positive(self.resolution, "resolution", integer=True)
        if not isinstance(self.hflip, bool):
            raise ValueError(f"hflip: expected a bool, got {describe(self.hflip)}")
        if self.max_images is not None:
            check_positive(self.max_images, "max_images", integer=True)
        exts = (self.extensions,) if isinstance(self.extensions, str) else tuple(self.extensions)
        if not exts or not all(isinstance(e, str) and e.startswith(".") and len(e) > 1 for e in exts):
            raise ValueError(
                f"extensions: expected a non-empty tuple of suffixes such as ('.png', '.jpg'), "
                f"got {describe(self.extensions)}"
            )
        object.__setattr__(self, "extensions", tuple(e.lower() for e in exts))
        if self.seed is not None:
            check_positive(self.seed, "seed", integer=True, allow_zero=True)
        if self.alpha_matte not in ("white", "black"):
            raise ValueError(f"alpha_matte: expected 'white' or 'black', got {self.alpha_matte!r}")

    def build(self) -> ImageDataset:
        """Lists the images (fails here if there are none) and returns the dataset."""
        return ImageDataset(self)


def _to_rgb(img: Image.Image, matte: tuple[int, int, int]) -> Image.Image:
    """Converts any Pillow mode to 8-bit RGB (alpha composited over ``matte``)."""
    if img.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips at 255; scale the 16-bit range 0..65535 onto 0..255 (also
        # for mode "I", which older Pillow versions give 16-bit PNGs).
        values = np.asarray(img).astype(np.float64)
        grey = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2))
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*matte, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def load_image(
    source: str | os.PathLike | bytes,
    resolution: int,
    alpha_matte: Literal["white", "black"] = "white",
) -> torch.Tensor:
    """Decodes one image file and prepares it for training (no flip).

    Steps: decode with Pillow and apply the EXIF orientation; convert to 8-bit RGB (grey, palette
    and CMYK through Pillow, 16-bit grey scaled by 1/257, alpha composited over ``alpha_matte``);
    centre-crop the largest square; resize it to ``resolution`` with Lanczos (antialiased).

    Args:
        source: a file path or the encoded file bytes.
        resolution: output size R.
        alpha_matte: ``'white'`` or ``'black'`` background for transparent pixels.

    Returns:
        (3, R, R) float32 tensor in [-1, 1].

    Raises:
        Exception: whatever Pillow raises for an unreadable, unsupported or truncated file.
    """
    matte = (255, 255, 255) if alpha_matte == "white" else (0, 0, 0)
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with Image.open(stream) as opened:
        opened.load()
        img = ImageOps.exif_transpose(opened) or opened
        rgb = _to_rgb(img, matte)
    width, height = rgb.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    # Crop first: resizing with ``box=`` would let the filter read pixels outside the square.
    square = rgb.crop((left, top, left + side, top + side))
    if side != resolution:
        square = square.resize((resolution, resolution), Image.Resampling.LANCZOS)
    array = np.asarray(square, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def _list_folder(root: str, extensions: tuple[str, ...]) -> list[str]:
    """Relative POSIX paths of the image files below ``root``, sorted; hidden entries skipped."""
    found: list[str] = []
    seen_dirs: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen_dirs:  # a symlink cycle
            dirs[:] = []
            continue
        seen_dirs.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and name.lower().endswith(extensions):
                found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def _list_zip(path: str, extensions: tuple[str, ...]) -> list[str]:
    """Member names of the image files in a zip archive, sorted; hidden entries skipped."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    keep = []
    for name in names:
        parts = name.split("/")
        if name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if parts[-1].lower().endswith(extensions):
            keep.append(name)
    return sorted(keep)


class ImageDataset(torch.utils.data.Dataset):
    """Training photos as (3, R, R) float32 tensors in [-1, 1].

    The listing is made once, at construction, in sorted order, so indices are stable across runs
    and processes. A zip archive is opened lazily and reopened in every new process (a
    ``ZipFile`` handle cannot be shared across ``fork`` or pickled), so the dataset works in
    DataLoader workers.

    Unreadable files: ``dataset[i]`` of a corrupt file logs one warning, marks the file bad and
    returns the next readable image after it (wrapping around to index 0), so a run never stops
    on bad data. The bad-file marks live in shared memory, so ``num_skipped`` in the main process
    also counts files met by DataLoader workers, and each bad file is reported only once.

    Args:
        config: [`ImageDatasetConfig`][gan3dlib.data.images.ImageDatasetConfig].

    Raises:
        ValueError: if ``config.path`` is missing, is a file that is not a zip archive, or holds
            no images with the configured extensions.
    """

    def __init__(self, config: ImageDatasetConfig) -> None:
        super().__init__()
        self.config = config
        path = config.path
        kinds = "/".join(config.extensions)
        hint = "point --data at a folder of images or a StyleGAN dataset .zip"
        if os.path.isdir(path):
            self._is_zip = False
            names = _list_folder(path, config.extensions)
        elif os.path.isfile(path):
            if not zipfile.is_zipfile(path):
                raise ValueError(f"path: expected a folder of images or a .zip archive, got the file {path!r} "
                                 f"which is not a zip archive; {hint}")
            self._is_zip = True
            names = _list_zip(path, config.extensions)
        else:
            raise ValueError(f"path: {path!r} does not exist; {hint}")
        if not names:
            raise ValueError(f"path: no images ({kinds}) found under {path!r}; {hint}")
        if config.max_images is not None:
            names = names[: config.max_images]
        self.image_paths: list[str] = names
        self.epoch = 0
        self._bad = torch.zeros(len(names), dtype=torch.bool)
        try:
            self._bad.share_memory_()
        except (RuntimeError, OSError):  # no shared memory available: counts stay per process
            pass
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid: int | None = None

    def __len__(self) -> int:
        return len(self.image_paths)

    @property
    def num_skipped(self) -> int:
        """Number of distinct files found unreadable so far."""
        return int(self._bad.sum())

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeded flips depend on (call before each epoch's iteration)."""
        self.epoch = int(epoch)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_zip"], state["_zip_pid"] = None, None
        return state

    def _read_bytes(self, name: str) -> bytes:
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip = zipfile.ZipFile(self.config.path)
            self._zip_pid = os.getpid()
        return self._zip.read(name)

    def _load(self, index: int) -> torch.Tensor:
        name = self.image_paths[index]
        source = self._read_bytes(name) if self._is_zip else os.path.join(self.config.path, name)
        return load_image(source, self.config.resolution, self.config.alpha_matte)

    def _flip(self, index: int) -> bool:
        if not self.config.hflip:
            return False
        if self.config.seed is None:
            return bool(torch.rand(()) < 0.5)
        state = np.random.SeedSequence((self.config.seed, self.epoch, index)).generate_state(1)
        return bool(state[0] & 1)

    def __getitem__(self, index: int) -> torch.Tensor:
        """Item ``index`` (or the next readable one, see the class notes).

        Returns:
            (3, R, R) float32 tensor in [-1, 1], flipped along width when ``hflip`` says so.

        Raises:
            IndexError: for an index outside ``[-len, len)``.
            ValueError: if every file of the dataset is unreadable.
        """
        index = operator.index(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index: expected an integer in [{-n}, {n}), got {index}")
        index %= n
        for step in range(n):
            current = (index + step) % n
            if bool(self._bad[current]):
                continue
            try:
                image = self._load(current)
            except Exception as error:  # any decoder failure means "bad file"
                if not bool(self._bad[current]):
                    self._bad[current] = True
                    detail = f"{type(error).__name__}: {error}".replace("\n", " ")
                    logger.warning("skipping unreadable image %r in %s (%s)", self.image_paths[current],
                                   self.config.path, detail)
                continue
            return image.flip(-1) if self._flip(index) else image
        raise ValueError(f"path: all {n} images under {self.config.path!r} are unreadable or corrupt; "
                         "check the files (see the warnings above) or point --data at another dataset")


def infinite_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    seed: int,
    num_workers: int = 0,
    drop_last: bool = True,
    *,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[torch.Tensor]:
    """Yields batches forever, reshuffling every epoch with a seeded generator.

    Each epoch draws a fresh permutation from one ``torch.Generator`` seeded with ``seed`` (the
    same on every rank), keeps every ``world_size``-th index starting at ``rank`` (so ranks see
    disjoint data and the same number of batches) and calls ``dataset.set_epoch(epoch)`` when the
    dataset has it. Workers are not persistent, so they pick up the new epoch.

    Args:
        dataset: a map-style dataset whose items collate into (B, ...) tensors, e.g.
            [`ImageDataset`][gan3dlib.data.images.ImageDataset] giving (B, 3, R, R).
        batch_size: items per batch B.
        seed: seed of the shuffling (and of the DataLoader worker seeds).
        num_workers: DataLoader worker processes (0 loads in this process).
        drop_last: drop each epoch's last incomplete batch.
        rank: index of this process among ``world_size`` data-parallel processes.
        world_size: number of data-parallel processes.

    Yields:
        Batches as collated by the DataLoader, e.g. (B, 3, R, R) float32.

    Raises:
        ValueError: for bad arguments, or when an epoch would contain no batch.
    """
    check_positive(batch_size, "batch_size", integer=True)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed: expected an integer, got {describe(seed)}")
    check_positive(num_workers, "num_workers", integer=True, allow_zero=True)
    check_positive(world_size, "world_size", integer=True)
    if not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank: expected an integer in [0, {world_size}), got {describe(rank)}")
    n = len(dataset)
    per_rank = n // world_size
    if per_rank == 0 or (drop_last and per_rank < batch_size):
        raise ValueError(f"batch_size: expected at most {per_rank} (dataset of {n} items over {world_size} "
                         f"processes{' with drop_last' if drop_last else ''}), got {batch_size}")
    return _batches(dataset, batch_size, int(seed), num_workers, drop_last, rank, world_size, per_rank)


def _batches(
    dataset: torch.utils.data.Dataset, batch_size: int, seed: int, num_workers: int, drop_last: bool,
    rank: int, world_size: int, per_rank: int,
) -> Iterator[torch.Tensor]:
    """The generator behind [`infinite_loader`][gan3dlib.data.images.infinite_loader] (split off so arguments fail at the call)."""
    shuffle = torch.Generator().manual_seed(seed)
    workers = torch.Generator().manual_seed(seed * 1_000_003 + rank + 1)
    epoch = 0
    while True:
        order = torch.randperm(len(dataset), generator=shuffle)[: per_rank * world_size]
        indices = order[rank::world_size].tolist()
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, sampler=indices, num_workers=num_workers,
            drop_last=drop_last, generator=workers,
        )
        yield from loader
        epoch += 1
