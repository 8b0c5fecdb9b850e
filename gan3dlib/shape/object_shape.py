"""From the object generator's raw output to the mesh's shape image (paper §6–7).

The object generator paints K shape images at 2N x 2N. They are

1. downsampled by 2 (2x2 average) to the N x N mesh grid,
2. multiplied by ``shape_scale`` (paper: 0.002, "effectively sets a relative learning rate"),
3. combined by the shape pyramid (eq. 13; or taken as a single level when it is off),
4. optionally made mirror-symmetric left to right (``symmetric``; off in the paper's presets): the
   offsets are averaged with their mirror image ``x -> -x``, as unsup3d's symmetry prior,
5. added to the initial shape s0 (a sphere of radius 0.5 for faces, optionally stretched per axis
   into an ellipsoid, a flat sheet for cars/buses),
6. squashed by the size constraint (eq. 14; off for the paper's cars and buses).

Each step is one config switch away, which is how the paper's ablations (SOFT, SIZE, FULL, CAR,
BUS) differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan3dlib.mesh.init_shapes import sheet_shape_image, sphere_shape_image
from gan3dlib.shape.pyramid import ShapePyramid, ShapePyramidConfig
from gan3dlib.shape.size_constraint import size_constraint
from gan3dlib.utils.checks import check_derived_set, check_positive, check_tensor

__all__ = ["ObjectShapeConfig", "ObjectShape"]


@dataclass(frozen=True)
class ObjectShapeConfig:
    """How generator output becomes the shape image.

    Attributes:
        grid_size: N, the mesh grid (and rendered image) size; the generator works at 2N.
        init: initial shape s0: ``'sphere'`` (faces) or ``'sheet'`` (cars, buses).
        sphere_radius: radius of the sphere s0 (paper: 0.5).
        sphere_axes: per-axis stretch (x, y, z) of the sphere s0 (paper: ``(1, 1, 1)``); e.g.
            ``(1, 1, 1.3)`` starts from an ellipsoid 30 % deeper than wide, a prior on a category's
            proportions (not in the paper).
        sheet_half_size: half-width of the flat sheet s0.
        shape_scale: multiplier of the generated offsets (paper: 0.002).
        use_pyramid: combine ``pyramid.levels`` blurred shape images (paper's FULL); False uses a
            single, unblurred shape image.
        pyramid: pyramid settings.
        use_size_constraint: apply eq. 14 (paper: on for faces, off for cars and buses).
        s_max: radius of the size constraint (paper: 1.3).
        symmetric: make the shape mirror-symmetric left to right (not in the paper).
        centered: subtract the mean offset over the mesh's vertices, so the generated shape cannot
            translate as a whole: without it, moving the whole object towards the camera shifts
            its silhouette with the yaw as frontal relief would (not in the paper).
    """

    grid_size: int | None = 128
    init: Literal["sphere", "sheet"] = "sphere"
    sphere_radius: float = 0.5
    sphere_axes: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sheet_half_size: float = 1.0
    shape_scale: float = 0.002
    use_pyramid: bool = True
    pyramid: ShapePyramidConfig = field(default_factory=ShapePyramidConfig)
    use_size_constraint: bool = True
    s_max: float = 1.3
    symmetric: bool = False
    centered: bool = False

    def __post_init__(self) -> None:
        if self.grid_size is not None:
            check_positive(self.grid_size, "grid_size", integer=True)
        if self.grid_size is not None and self.grid_size < 2:
            raise ValueError(f"grid_size: expected an integer >= 2, got {self.grid_size}")
        if self.init not in ("sphere", "sheet"):
            raise ValueError(f"init: expected 'sphere' or 'sheet', got {self.init!r}")
        for name in ("sphere_radius", "sheet_half_size", "shape_scale", "s_max"):
            value = getattr(self, name)
            check_positive(value, name)
            if not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        axes = self.sphere_axes
        if not (isinstance(axes, (tuple, list)) and len(axes) == 3
                and all(isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and a > 0
                        for a in axes)):
            raise ValueError(f"sphere_axes: expected three finite numbers > 0 (x, y, z), got {axes!r}")
        object.__setattr__(self, "sphere_axes", tuple(float(a) for a in axes))

    @property
    def levels(self) -> int:
        """K, the number of shape images the generator paints."""
        return self.pyramid.levels if self.use_pyramid else 1

    @property
    def generator_channels(self) -> int:
        """3 K: the shape channels of the object generator's output."""
        return 3 * self.levels

    def build(self) -> ObjectShape:
        """Makes the module."""
        return ObjectShape(self)


class ObjectShape(nn.Module):
    """Turns (B, 3K, 2N, 2N) generator channels into a (B, 3, N, N) shape image.

    Args:
        config: [`ObjectShapeConfig`][gan3dlib.shape.object_shape.ObjectShapeConfig].
        vertex_mask: (N, N) bool, the grid vertices the mesh uses (``MeshGrid.vertex_mask``): the
            ones ``centered`` averages over (default: all).
    """

    def __init__(self, config: ObjectShapeConfig | None = None, vertex_mask: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config or ObjectShapeConfig()
        cfg = self.config
        check_derived_set(cfg.grid_size, "grid_size")
        if cfg.init == "sphere":
            s0 = sphere_shape_image(cfg.grid_size, cfg.sphere_radius) * torch.tensor(cfg.sphere_axes).view(3, 1, 1)
        else:
            s0 = sheet_shape_image(cfg.grid_size, cfg.sheet_half_size)
        self.register_buffer("initial_shape", s0.unsqueeze(0), persistent=False)  # (1, 3, N, N)
        self.pyramid = ShapePyramid(cfg.pyramid) if cfg.use_pyramid else None
        n = cfg.grid_size
        weights = torch.ones(n, n) if vertex_mask is None else check_tensor(vertex_mask, "vertex_mask", (n, n)).float()
        self.register_buffer("center_weights", (weights / weights.sum()).view(1, 1, n, n), persistent=False)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """Builds the shape image.

        Args:
            raw: (B, 3K, 2N, 2N) shape channels of the object generator.

        Returns:
            (B, 3, N, N) vertex positions of the mesh grid.
        """
        cfg = self.config
        n = cfg.grid_size
        check_tensor(raw, "raw", (None, cfg.generator_channels, 2 * n, 2 * n), floating=True)
        offsets = F.avg_pool2d(raw, kernel_size=2) * cfg.shape_scale  # (B, 3K, N, N)
        if self.pyramid is not None:
            offsets = self.pyramid(offsets)
        if cfg.symmetric:  # grid column j mirrors column N-1-j, where x is -x (s0 is symmetric already)
            mirrored = offsets.flip(-1) * offsets.new_tensor([-1.0, 1.0, 1.0]).view(1, 3, 1, 1)
            offsets = (offsets + mirrored) / 2
        if cfg.centered:  # no translation of the whole shape: the mean offset of the used vertices is 0
            offsets = offsets - (offsets * self.center_weights.to(offsets.dtype)).sum((2, 3), keepdim=True)
        shape = self.initial_shape.to(offsets.dtype) + offsets
        if cfg.use_size_constraint:
            shape = size_constraint(shape, cfg.s_max)
        return shape
