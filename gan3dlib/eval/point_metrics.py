"""Point-cloud shape metrics: Chamfer coverage (COV) and minimum matching distance (MMD).

These are the 3D distribution metrics of Achlioptas et al. (2018) as GET3D (Gao et al., 2022)
reports them. Each shape is turned into a point cloud by area-weighted uniform sampling of its
surface ([`sample_surface_points`][gan3dlib.eval.point_metrics.sample_surface_points]), the clouds are normalised ([`normalize_point_clouds`][gan3dlib.eval.point_metrics.normalize_point_clouds]),
and every (reference, generated) pair gets a Chamfer distance ([`chamfer_distance_matrix`][gan3dlib.eval.point_metrics.chamfer_distance_matrix]).
With ``D[r, g]`` that distance for reference shape ``r`` and generated shape ``g``:

- **COV** is the fraction of reference shapes that are the nearest reference of at least one
  generated shape, ``|{argmin_r D[r, g] : g}| / R`` (1 is best; low values mean mode collapse);
- **MMD** is the mean over reference shapes of the distance to their nearest generated shape,
  ``mean_r min_g D[r, g]`` (0 is best; it measures fidelity).

This is what GET3D's ``evaluation_scripts/compute_cov_mmd.py`` computes from its (reference x
generated) matrix. GET3D samples 2048 points per shape, scales each mesh so that the longest side
of its bounding box is 1 (``mode="unit_box"`` here) and prints MMD multiplied by 1000; we return the
raw value.

**Chamfer convention.** ``CD(X, Y) = mean_{x in X} min_{y in Y} |x - y|^2 + mean_{y in Y} min_{x in
X} |x - y|^2``: squared Euclidean distances, averaged over the points of each cloud, and the two
directions summed (not averaged). This equals ``pytorch3d.loss.chamfer_distance`` with
``point_reduction="mean"`` and ``batch_reduction=None`` and kaolin's ``chamfer_distance`` (the one
GET3D uses) with its default weights.
"""

from __future__ import annotations

import torch

from gan3dlib.utils.checks import check_faces, check_positive, check_tensor

__all__ = [
    "sample_surface_points",
    "normalize_point_clouds",
    "chamfer_distance_matrix",
    "coverage_and_mmd",
]

_NORMALIZE_MODES = ("unit_sphere", "unit_box")


def sample_surface_points(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    num_points: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Samples points uniformly (by area) on the surfaces of meshes that share one topology.

    A face is drawn with probability proportional to its area, then a point is drawn uniformly in
    it with barycentric weights ``(1 - sqrt(u), sqrt(u) (1 - v), sqrt(u) v)`` for ``u, v ~ U(0, 1)``
    (Osada et al. 2002). Zero-area (degenerate) faces have probability 0 and are never sampled.

    Args:
        vertices: (B, V, 3) vertex positions of B meshes.
        faces: (F, 3) integer vertex indices shared by all B meshes.
        num_points: number of points N to draw per mesh.
        generator: optional random generator (on ``vertices``' device) for reproducible samples.

    Returns:
        (B, N, 3) points on the surfaces, in ``vertices``' dtype and device.

    Raises:
        ValueError: on malformed arguments, or if a mesh has zero total area.
    """
    check_tensor(vertices, "vertices", (None, None, 3), floating=True, finite=True)
    check_faces(faces, vertices.shape[1], "faces")
    check_positive(num_points, "num_points", integer=True)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator: expected a torch.Generator or None, got {type(generator).__name__}")
    batch = vertices.shape[0]
    if batch == 0:
        raise ValueError("vertices: expected at least one mesh, got a batch of 0")
    tri = vertices[:, faces.long()]  # (B, F, 3 corners, 3)
    edge1, edge2 = tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]
    area = 0.5 * torch.linalg.cross(edge1, edge2, dim=-1).norm(dim=-1)  # (B, F)
    total = area.sum(dim=1)
    if bool((total <= 0).any()):
        bad = torch.nonzero(total <= 0).flatten().tolist()
        raise ValueError(f"vertices: meshes {bad} have zero surface area; nothing to sample")
    weights = area.detach().to(torch.float64)
    face_idx = torch.multinomial(weights, num_points, replacement=True, generator=generator)  # (B, N)
    corners = torch.gather(tri, 1, face_idx[:, :, None, None].expand(-1, -1, 3, 3))  # (B, N, 3, 3)
    uv = torch.rand(2, batch, num_points, generator=generator, device=vertices.device, dtype=vertices.dtype)
    root = uv[0].sqrt()
    bary = torch.stack([1 - root, root * (1 - uv[1]), root * uv[1]], dim=-1)  # (B, N, 3)
    return (bary[..., None] * corners).sum(dim=2)


def normalize_point_clouds(points: torch.Tensor, mode: str = "unit_sphere") -> torch.Tensor:
    """Centres and scales each point cloud independently before shapes are compared.

    Chamfer distances depend on position and scale, so both sets must be brought to a common frame
    first. GET3D scales each shape so that the longest side of its bounding box is 1 (its shapes
    are already centred); LION/PointFlow-style evaluations centre and rescale each shape too.

    Args:
        points: (B, N, 3) point clouds.
        mode: ``"unit_box"``: centre the axis-aligned bounding box at the origin and scale so its
            longest side is 1 (GET3D's convention); ``"unit_sphere"``: put the centroid at the
            origin and scale so the farthest point is at distance 1.

    Returns:
        (B, N, 3) normalised clouds. A cloud collapsed to one point is only centred.

    Raises:
        ValueError: on a malformed ``points`` or unknown ``mode``.
    """
    check_tensor(points, "points", (None, None, 3), floating=True, finite=True)
    if points.shape[1] == 0:
        raise ValueError(f"points: expected at least one point per cloud, got shape {tuple(points.shape)}")
    if mode == "unit_box":
        lo, hi = points.amin(dim=1, keepdim=True), points.amax(dim=1, keepdim=True)
        centred = points - (lo + hi) / 2
        scale = (hi - lo).amax(dim=-1, keepdim=True)  # (B, 1, 1)
    elif mode == "unit_sphere":
        centred = points - points.mean(dim=1, keepdim=True)
        scale = centred.norm(dim=-1).amax(dim=1)[:, None, None]
    else:
        raise ValueError(f"mode: expected one of {_NORMALIZE_MODES}, got {mode!r}")
    return centred / torch.where(scale > 0, scale, torch.ones_like(scale))


def chamfer_distance_matrix(a: torch.Tensor, b: torch.Tensor, chunk: int = 16) -> torch.Tensor:
    """Symmetric Chamfer distance between every cloud of ``a`` and every cloud of ``b``.

    ``CD(X, Y) = mean_x min_y |x - y|^2 + mean_y min_x |x - y|^2`` (squared L2, mean over the points
    of each cloud, the two directions summed; as ``pytorch3d.loss.chamfer_distance`` with
    ``point_reduction="mean"``). Pairs are processed ``chunk`` at a time with `torch.cdist`
    (exact, not the matrix-product shortcut, so identical clouds give exactly 0), bounding memory
    at about ``chunk * P * Q`` distances.

    Args:
        a: (A, P, 3) point clouds.
        b: (B, Q, 3) point clouds.
        chunk: number of (a, b) pairs per ``cdist`` call.

    Returns:
        (A, B) Chamfer distances, in the promoted dtype of ``a`` and ``b``.

    Raises:
        ValueError: on malformed arguments.
    """
    check_tensor(a, "a", (None, None, 3), floating=True, finite=True)
    check_tensor(b, "b", (None, None, 3), floating=True, finite=True, device=a.device)
    check_positive(chunk, "chunk", integer=True)
    if a.shape[1] == 0:
        raise ValueError(f"a: expected at least one point per cloud, got {tuple(a.shape)}")
    if b.shape[1] == 0:
        raise ValueError(f"b: expected at least one point per cloud, got {tuple(b.shape)}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    a, b = a.to(dtype), b.to(dtype)
    num_a, num_b = a.shape[0], b.shape[0]
    out = torch.empty(num_a * num_b, dtype=dtype, device=a.device)
    pairs = torch.arange(num_a * num_b, device=a.device)
    for start in range(0, num_a * num_b, chunk):
        idx = pairs[start : start + chunk]
        dist = torch.cdist(a[idx // num_b], b[idx % num_b], compute_mode="donot_use_mm_for_euclid_dist")
        sq = dist.square()  # (C, P, Q)
        out[start : start + chunk] = sq.amin(dim=2).mean(dim=1) + sq.amin(dim=1).mean(dim=1)
    return out.reshape(num_a, num_b)


def coverage_and_mmd(
    generated: torch.Tensor,
    reference: torch.Tensor,
    chunk: int = 16,
    normalize: str | None = None,
) -> dict[str, float | torch.Tensor]:
    """Chamfer coverage (COV) and minimum matching distance (MMD) of generated shapes.

    With ``D[r, g]`` the Chamfer distance (see [`chamfer_distance_matrix`][gan3dlib.eval.point_metrics.chamfer_distance_matrix]):
    ``COV = |{argmin_r D[r, g]}| / R`` and ``MMD = mean_r min_g D[r, g]`` (Achlioptas et al. 2018;
    GET3D). Ties in the argmin go to the lowest reference index.

    Args:
        generated: (G, P, 3) point clouds sampled from generated shapes.
        reference: (R, Q, 3) point clouds sampled from reference (ground-truth) shapes.
        chunk: pairs per ``cdist`` call, as in [`chamfer_distance_matrix`][gan3dlib.eval.point_metrics.chamfer_distance_matrix].
        normalize: if given, a [`normalize_point_clouds`][gan3dlib.eval.point_metrics.normalize_point_clouds] mode applied to both sets first;
            ``None`` uses the clouds as they are.

    Returns:
        A dict with ``cov`` (float in [0, 1]), ``mmd`` (float), ``distances`` (R, G) the Chamfer
        matrix, and ``matched`` (G,) the nearest reference index of each generated shape.

    Raises:
        ValueError: on malformed arguments or empty sets.
    """
    check_tensor(generated, "generated", (None, None, 3), floating=True, finite=True)
    check_tensor(reference, "reference", (None, None, 3), floating=True, finite=True, device=generated.device)
    if generated.shape[0] == 0:
        raise ValueError(f"generated: expected at least one shape, got {tuple(generated.shape)}")
    if reference.shape[0] == 0:
        raise ValueError(f"reference: expected at least one shape, got {tuple(reference.shape)}")
    for name, cloud in (("generated", generated), ("reference", reference)):
        if cloud.shape[1] == 0:
            raise ValueError(f"{name}: expected at least one point per cloud, got {tuple(cloud.shape)}")
    if normalize is not None:
        if normalize not in _NORMALIZE_MODES:
            raise ValueError(f"normalize: expected None or one of {_NORMALIZE_MODES}, got {normalize!r}")
        generated = normalize_point_clouds(generated, normalize)
        reference = normalize_point_clouds(reference, normalize)
    distances = chamfer_distance_matrix(reference, generated, chunk=chunk)  # (R, G)
    matched = distances.argmin(dim=0)
    cov = matched.unique().numel() / reference.shape[0]
    mmd = float(distances.amin(dim=1).mean())
    return {"cov": cov, "mmd": mmd, "distances": distances, "matched": matched}
