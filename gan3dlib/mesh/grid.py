"""Mesh-grid topology: the fixed triangle mesh behind a shape image (paper §6).

A shape image ``(B, 3, N, N)`` stores one xyz position per grid vertex; the triangles are a
fixed subset of the regular triangulation of the ``N x N`` grid. Following
``docs/conventions.md``:

- grid vertex ``(i, j)`` (row ``i``, column ``j``) has index ``i * N + j``;
- its normalised position is ``x = 2j/(N-1) - 1``, ``y = 1 - 2i/(N-1)`` (in ``[-1, 1]²``,
  ``+x`` right, ``+y`` up) and its UV is ``(j/(N-1), 1 - i/(N-1))`` (``v`` up);
- every grid cell with corners ``a = (i, j)``, ``b = (i, j+1)``, ``c = (i+1, j)``,
  ``d = (i+1, j+1)`` is split along the diagonal ``b-c`` (top-right to bottom-left) into the
  triangles ``(a, c, b)`` and ``(b, c, d)``. The same diagonal is used in every cell (no
  alternation). Both triangles are counter-clockwise when the flat sheet ``(x, y, 0)`` is seen
  from ``+Z``, i.e. their normal ``cross(v1 - v0, v2 - v0)`` points to ``+Z``;
- faces are ordered cell by cell in row-major order, ``(a, c, b)`` before ``(b, c, d)``;
- only triangles whose three vertices satisfy ``x² + y² <= radius²`` (with a ``1e-9``
  tolerance, so vertices exactly on the circle count) are kept.

**Unused vertices are kept and masked**: ``V = N²`` always, so converting a shape image to a
vertex tensor is a pure reshape with an exact inverse. ``vertex_mask (N, N)`` marks the
vertices used by at least one face; the others are never referenced by ``faces`` and do not
affect rendering.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import torch
from einops import rearrange

from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = [
    "MeshGrid",
    "build_mesh_grid",
    "normalized_grid",
    "shape_image_to_vertices",
    "vertices_to_shape_image",
]

_CIRCLE_TOL = 1e-9


def _check_grid_size(n: object, name: str = "n") -> int:
    """Validates a grid size ``N``: an integer ``>= 2``. Returns it as a Python int."""
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        n = int(n)
    check_positive(n, name, integer=True)
    assert isinstance(n, int)
    if n < 2:
        raise ValueError(f"{name}: expected an integer grid size >= 2, got {n!r}")
    return n


def normalized_grid(
    n: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> torch.Tensor:
    """Normalised positions of the ``N x N`` grid vertices as an image.

    Args:
        n: grid size ``N >= 2``.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``(2, N, N)`` tensor; channel 0 is ``x = 2j/(N-1) - 1`` and channel 1 is
        ``y = 1 - 2i/(N-1)`` at pixel ``(i, j)``.

    Raises:
        ValueError: if ``n`` is not an integer ``>= 2``.
    """
    n = _check_grid_size(n)
    t = torch.arange(n, dtype=torch.float64) * (2.0 / (n - 1))
    x = (t - 1.0).view(1, n).expand(n, n)
    y = (1.0 - t).view(n, 1).expand(n, n)
    return torch.stack([x, y]).to(dtype=dtype, device=device)


def shape_image_to_vertices(shape_image: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """Flattens a shape image into mesh vertices (vertex ``i * N + j`` = pixel ``(i, j)``).

    Args:
        shape_image: ``(B, 3, N, N)`` floating tensor of xyz positions.
        n: expected grid size ``N``; ``None`` accepts any square size.

    Returns:
        ``(B, V, 3)`` vertices with ``V = N²`` (a view of ``shape_image`` where possible).

    Raises:
        ValueError: naming ``shape_image`` if it is not a floating ``(B, 3, N, N)`` tensor
            (or its ``N`` differs from ``n``), or naming ``n`` if ``n`` is not an integer >= 2.
    """
    spec: tuple[int | str | None, ...]
    if n is None:
        spec = (None, 3, "N", "N")
    else:
        n = _check_grid_size(n)
        spec = (None, 3, n, n)
    check_tensor(shape_image, "shape_image", spec, floating=True)
    return rearrange(shape_image, "b c i j -> b (i j) c")


def vertices_to_shape_image(vertices: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of [`shape_image_to_vertices`][gan3dlib.mesh.grid.shape_image_to_vertices].

    Args:
        vertices: ``(B, V, 3)`` floating tensor with ``V = N²``.
        n: grid size ``N``.

    Returns:
        ``(B, 3, N, N)`` shape image whose pixel ``(i, j)`` is vertex ``i * N + j``.

    Raises:
        ValueError: naming ``n`` if it is not an integer >= 2, or ``vertices`` if it is not a
            floating ``(B, N², 3)`` tensor.
    """
    n = _check_grid_size(n)
    check_tensor(vertices, "vertices", (None, n * n, 3), floating=True)
    return rearrange(vertices, "b (i j) c -> b c i j", i=n, j=n)


@dataclasses.dataclass(frozen=True, eq=False)
class MeshGrid:
    """Fixed topology of a shape-image mesh. Build it with [`build_mesh_grid`][gan3dlib.mesh.grid.build_mesh_grid].

    Attributes:
        n: grid size ``N``.
        radius: radius of the kept circular region in normalised grid coordinates.
        faces: ``(F, 3)`` int64 vertex indices, counter-clockwise seen from ``+Z`` on the flat
            sheet (see the module docstring for the triangulation).
        uvs: ``(V, 2)`` per-vertex UVs, ``V = N²``, vertex ``(i, j)`` at
            ``(j/(N-1), 1 - i/(N-1))``.
        face_uvs_idx: ``(F, 3)`` int64 indices into ``uvs`` (equal to ``faces``; Kaolin layout).
        vertex_mask: ``(N, N)`` bool, True for vertices used by at least one face.
        grid_xy: ``(V, 2)`` normalised vertex positions in ``[-1, 1]²``.
    """

    n: int
    radius: float
    faces: torch.Tensor
    uvs: torch.Tensor
    face_uvs_idx: torch.Tensor
    vertex_mask: torch.Tensor
    grid_xy: torch.Tensor

    @property
    def num_vertices(self) -> int:
        """Number of vertices ``V = N²`` (used and unused)."""
        return self.n * self.n

    @property
    def num_faces(self) -> int:
        """Number of kept triangles ``F``."""
        return int(self.faces.shape[0])

    @property
    def device(self) -> torch.device:
        """Device of the stored tensors."""
        return self.faces.device

    @property
    def face_uvs(self) -> torch.Tensor:
        """``(F, 3, 2)`` UVs of each face corner (Kaolin ``face_uvs`` without the batch dim)."""
        return self.uvs[self.face_uvs_idx]

    def shape_image_to_vertices(self, shape_image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, N, N)`` shape image -> ``(B, V, 3)`` vertices; ``N`` must match the grid."""
        return shape_image_to_vertices(shape_image, self.n)

    def vertices_to_shape_image(self, vertices: torch.Tensor) -> torch.Tensor:
        """``(B, V, 3)`` vertices -> ``(B, 3, N, N)`` shape image; ``V`` must equal ``N²``."""
        return vertices_to_shape_image(vertices, self.n)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> MeshGrid:
        """Returns a copy on ``device`` with the floating tensors (uvs, grid_xy) cast to ``dtype``.

        Raises:
            ValueError: naming ``dtype`` if it is not a floating dtype.
        """
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype: expected a floating torch.dtype, got {describe(dtype)}")
        return dataclasses.replace(
            self,
            faces=self.faces.to(device=device),
            uvs=self.uvs.to(device=device, dtype=dtype),
            face_uvs_idx=self.face_uvs_idx.to(device=device),
            vertex_mask=self.vertex_mask.to(device=device),
            grid_xy=self.grid_xy.to(device=device, dtype=dtype),
        )


def build_mesh_grid(
    n: int, radius: float = 1.0, device: torch.device | str | None = None
) -> MeshGrid:
    """Builds the triangle topology of an ``N x N`` shape image.

    Args:
        n: grid size ``N >= 2``.
        radius: keep triangles whose three vertices lie in the circle of this radius in
            normalised grid coordinates (1 = inscribed circle; ``>= sqrt(2)`` keeps the full
            square with ``2 (N-1)²`` faces).
        device: device of the returned tensors.

    Returns:
        A [`MeshGrid`][gan3dlib.mesh.grid.MeshGrid] with ``faces (F, 3)``, ``uvs (V, 2)``, ``face_uvs_idx (F, 3)``,
        ``vertex_mask (N, N)`` and ``grid_xy (V, 2)``.

    Raises:
        ValueError: naming ``n`` if it is not an integer >= 2, or ``radius`` if it is not a
            positive number or is so small that no triangle is kept.
    """
    n = _check_grid_size(n)
    check_positive(radius, "radius")
    radius = float(radius)

    xy = normalized_grid(n, dtype=torch.float64)  # (2, N, N)
    inside = (xy.square().sum(0) <= radius * radius + _CIRCLE_TOL).reshape(-1)  # (V,)

    i = torch.arange(n - 1).view(n - 1, 1)
    j = torch.arange(n - 1).view(1, n - 1)
    a = (i * n + j).reshape(-1)  # top-left corner of every cell, row-major
    b, c, d = a + 1, a + n, a + n + 1
    faces = torch.stack(
        [torch.stack([a, c, b], dim=-1), torch.stack([b, c, d], dim=-1)], dim=1
    ).reshape(-1, 3)
    faces = faces[inside[faces].all(dim=-1)].contiguous()
    if faces.shape[0] == 0:
        smallest = math.sqrt(2.0) / (n - 1) if n % 2 == 0 else 2.0 / (n - 1)
        raise ValueError(
            f"radius: expected a radius large enough to keep at least one triangle of the "
            f"{n}x{n} grid (about {smallest:.4g} or more), got {radius!r}"
        )

    vertex_mask = torch.zeros(n * n, dtype=torch.bool)
    vertex_mask[faces.reshape(-1)] = True

    grid_xy = rearrange(xy, "c i j -> (i j) c").to(torch.float32)
    t = torch.arange(n, dtype=torch.float64) / (n - 1)
    uv = torch.stack([t.view(1, n).expand(n, n), (1.0 - t).view(n, 1).expand(n, n)])
    uvs = rearrange(uv, "c i j -> (i j) c").to(torch.float32)  # (j/(N-1), 1 - i/(N-1))
    return MeshGrid(
        n=n,
        radius=radius,
        faces=faces.to(device),
        uvs=uvs.contiguous().to(device),
        face_uvs_idx=faces.clone().to(device),
        vertex_mask=vertex_mask.view(n, n).to(device),
        grid_xy=grid_xy.contiguous().to(device),
    )
