"""Kaolin-compatible rendering API on top of gan3dlib's rasterizers and soft-extension shader.

Every function here has the name, signature, defaults, tensor layouts and return order of its
``kaolin.render.mesh`` / ``kaolin.render.camera`` / ``kaolin.ops.mesh`` namesake (Kaolin 0.18),
and follows Kaolin's semantics; Kaolin itself is never imported. [`soft_rasterize`][gan3dlib.compat.kaolin.rasterization.soft_rasterize] is new: a
drop-in for ``dibr_rasterization``'s ``(features, soft_mask, face_idx)`` that uses the paper's soft
extension (§5) instead of DIB-R's soft mask.

Conventions side by side (``s = min(H, W)``; pixel (r, c) is row r from the top, column c):

===================== ============================= ============================ ===========================
                      Kaolin                        PyTorch3D                    gan3dlib
===================== ============================= ============================ ===========================
view-space z          z < 0 in front; nearest is    z > 0 in front; nearest is   depth = -z_view > 0;
                      the *max* z                   the min z                    nearest is the min depth
image x / y           x right, y up (NDC)           x *left*, y up (NDC)         u right, v *down* (pixels)
NDC extent            each side spans [-1, 1]       shorter side [-1, 1], longer no NDC: u in [0, W],
(non-square)          (units differ along x and y)  side [-long/s, long/s]       v in [0, H]
centre of pixel (r,c) x = (2c+1-W)/W,               x = (W-2c-1)/s,              (u, v) = (c+0.5, r+0.5)
                      y = (H-2r-1)/H                y = (H-2r-1)/s
texture layout        (B, C, H', W') channel-first  TexturesUV (N, H', W', C)    (B, C, H', W')
texture sampling      align_corners=False, uv       align_corners=True,          align_corners=True by
                      clamped to [0, 1], border     border padding               default, border padding
uv v direction        up in texture_mapping (but    up (as in OBJ files)         up
                      import_mesh >= 0.16 flips v)
face indices          per mesh, -1 = background     packed b*F + f, -1 = none    Fragments: packed;
                                                                                 face_idx outputs: per mesh
field of view         radians, covers the height    degrees, covers the shorter  degrees, covers the
                                                    side                         shorter side
winding               rasterize draws both; front   cull_backfaces keeps faces   front faces are CCW seen
                      faces are CCW in the x-right, CCW in its x-left image,     from outside; RasterSettings
                      y-up image (normal z >= 0)    i.e. Kaolin's front faces    .cull_backfaces keeps them
===================== ============================= ============================ ===========================

Kaolin per-face inputs (``face_vertices_image`` (B, F, 3, 2), ``face_vertices_z`` (B, F, 3)) become
our screen vertices ``(u, v, depth)`` with ``u = (x + 1) W / 2``, ``v = (1 - y) H / 2``,
``depth = -z``, reshaped to (B, F*3, 3) with faces ``arange(F*3).view(F, 3)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gan3dlib.ops.mesh import face_normals, index_vertices_by_faces
from gan3dlib.compat.kaolin.camera import (
    generate_perspective_projection,
    generate_transformation_matrix,
    perspective_camera,
    rotate_translate_points,
)
from gan3dlib.render.fragments import RasterSettings
from gan3dlib.compat.kaolin.dibr import dibr_soft_mask
from gan3dlib.compat.kaolin.utils import prepare_vertices, texture_mapping
from gan3dlib.render.renderer import SoftExtensionShader, make_rasterizer
from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = [
    "rasterize", "soft_rasterize", "dibr_soft_mask", "dibr_rasterization", "texture_mapping", "prepare_vertices",
    "index_vertices_by_faces", "face_normals", "generate_perspective_projection", "generate_transformation_matrix",
    "rotate_translate_points", "perspective_camera",
]

_KAOLIN_BACKENDS = ("cuda", "nvdiffrast", "nvdiffrast_fwd")
_BACKENDS = ("auto", *_KAOLIN_BACKENDS, "torch", "pytorch3d")
# rasterize: our rasterizer only proposes candidates (faces covering a pixel or within this band,
# the nearest few in depth); Kaolin's exact coverage test and depth test then pick among them, so
# pixel centres lying exactly on an edge are treated as Kaolin treats them.
_CANDIDATE_BAND_PX = 0.01
_CANDIDATES_PER_PIXEL = 8

FaceFeatures = torch.Tensor | Sequence[torch.Tensor]


def _check_size(height: object, width: object) -> tuple[int, int]:
    for name, value in (("height", height), ("width", width)):
        check_positive(value, name, integer=True)
    return int(height), int(width)  # type: ignore[arg-type]


def _check_faces_inputs(
    face_vertices_z: object, face_vertices_image: object, face_features: object, valid_faces: object
) -> tuple[torch.Tensor, list[int] | None]:
    """Validates Kaolin per-face inputs; returns the features concatenated and the split sizes (or None)."""
    dims: dict[str, int] = {}
    check_tensor(face_vertices_z, "face_vertices_z", ("B", "F", 3), floating=True, finite=True, dims=dims)
    assert isinstance(face_vertices_z, torch.Tensor)
    device = face_vertices_z.device
    check_tensor(face_vertices_image, "face_vertices_image", ("B", "F", 3, 2), floating=True, finite=True,
                 device=device, dims=dims)
    if dims["B"] == 0 or dims["F"] == 0:
        raise ValueError(f"face_vertices_z: expected at least one mesh and one face, got {describe(face_vertices_z)}")
    sizes = None
    if isinstance(face_features, (list, tuple)):
        if not face_features:
            raise ValueError("face_features: expected a (B, F, 3, D) tensor or a non-empty list of them, got []")
        for i, feat in enumerate(face_features):
            check_tensor(feat, f"face_features[{i}]", ("B", "F", 3, None), floating=True, device=device, dims=dims)
            check_tensor(feat, f"face_features[{i}]", dtypes=(face_features[0].dtype,))
        sizes = [int(feat.shape[-1]) for feat in face_features]
        features = torch.cat(list(face_features), dim=-1)
    else:
        check_tensor(face_features, "face_features", ("B", "F", 3, None), floating=True, device=device, dims=dims)
        features = face_features  # type: ignore[assignment]
    if valid_faces is not None:
        check_tensor(valid_faces, "valid_faces", ("B", "F"), dtypes=(torch.bool,), device=device, dims=dims)
    return features, sizes


def _split(values: torch.Tensor, sizes: list[int] | None) -> torch.Tensor | tuple[torch.Tensor, ...]:
    return values if sizes is None else tuple(torch.split(values, sizes, dim=-1))


def _rasterizer(backend: object, device: torch.device, settings: RasterSettings) -> torch.nn.Module:
    """Kaolin's backend names (and 'auto') map to the default backend of the device."""
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"backend: expected one of {list(_BACKENDS)}, got {describe(backend)}")
    return make_rasterizer("auto" if backend in _KAOLIN_BACKENDS else backend, device, settings)


def _to_screen(image: torch.Tensor, depth: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, F, 3, 2) NDC and (B, F, 3) depth -> screen vertices (B, F*3, 3) and faces (F, 3)."""
    batch, num_faces = depth.shape[:2]
    u = (image[..., 0] + 1.0) * (width / 2)
    v = (1.0 - image[..., 1]) * (height / 2)
    screen = torch.stack([u, v, depth.to(image.dtype)], dim=-1).reshape(batch, num_faces * 3, 3)
    faces = torch.arange(num_faces * 3, device=image.device).view(num_faces, 3)
    return screen, faces


def _kaolin_weights(corners: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor, eps: float) -> torch.Tensor:
    """Kaolin's screen-space barycentrics of (x0, y0) in (P, 3, 2) triangles, normalised by sum + copysign(eps)."""
    ax, ay = corners[:, 0, 0] - x0, corners[:, 0, 1] - y0
    bx, by = corners[:, 1, 0] - x0, corners[:, 1, 1] - y0
    cx, cy = corners[:, 2, 0] - x0, corners[:, 2, 1] - y0
    w = torch.stack([bx * cy - by * cx, cx * ay - cy * ax, ax * by - ay * bx], dim=-1)
    norm = w[:, 0] + w[:, 1] + w[:, 2]
    norm = norm + torch.copysign(torch.full_like(norm, eps), norm.detach())
    return w / norm.unsqueeze(-1)


def rasterize(
    height: int,
    width: int,
    face_vertices_z: torch.Tensor,
    face_vertices_image: torch.Tensor,
    face_features: FaceFeatures,
    valid_faces: torch.Tensor | None = None,
    multiplier: float | None = None,
    eps: float | None = None,
    backend: str = "cuda",
) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], torch.Tensor]:
    """Kaolin's ``rasterize``: crisp, screen-space interpolation of per-face-corner features.

    Semantics of Kaolin's CUDA kernel: a pixel centre is covered by a face when it lies in the
    face's half-open bounding box and all three barycentrics (linear in screen space, no
    perspective correction, normalised by ``sum + copysign(eps, sum)``) are ``>= 0``, for *both*
    windings; the covering face with the largest interpolated z wins (the lowest index on ties).
    Background pixels get features 0 and index -1.

    Args:
        height: image height H in pixels.
        width: image width W in pixels.
        face_vertices_z: (B, F, 3) camera-space z of the face corners (negative in front). Used
            for the depth test only: it gets no gradient (as in Kaolin).
        face_vertices_image: (B, F, 3, 2) Kaolin NDC (x right, y up, each side in [-1, 1]).
        face_features: (B, F, 3, D) per-corner features, or a list/tuple of (B, F, 3, D_i).
        valid_faces: (B, F) bool; faces that are False are not drawn. None draws every face.
        multiplier: Kaolin scales coordinates by it (default 1000) before the kernel; it matters
            only through ``eps``, which acts on the scaled coordinates: the effective epsilon is
            ``eps / multiplier²`` in NDC². Used the same way for every ``backend``.
        eps: barycentric normalisation epsilon (default 1e-8), see ``multiplier``.
        backend: Kaolin's ``'cuda'``, ``'nvdiffrast'``, ``'nvdiffrast_fwd'`` (and ``'auto'``) all
            use the default rasterizer of the device ([`gan3dlib.render.renderer.default_backend`][gan3dlib.render.renderer.default_backend]);
            ``'torch'`` or ``'pytorch3d'`` pick one. The rasterizer only proposes candidate faces;
            the result does not depend on it.

    Returns:
        features: (B, H, W, D), or a tuple of (B, H, W, D_i) if ``face_features`` is a sequence.
            Differentiable w.r.t. ``face_vertices_image`` and ``face_features``.
        face_idx: (B, H, W) int64 per-mesh face index, -1 on the background.

    Raises:
        ValueError: naming the argument on a wrong shape, dtype, device or value, or an unknown
            ``backend``.
    """
    height, width = _check_size(height, width)
    features, sizes = _check_faces_inputs(face_vertices_z, face_vertices_image, face_features, valid_faces)
    multiplier = 1000.0 if multiplier is None else multiplier
    eps = 1e-8 if eps is None else eps
    check_positive(multiplier, "multiplier")
    check_positive(eps, "eps", allow_zero=True)
    multiplier, eps = float(multiplier), float(eps)
    batch, num_faces = face_vertices_z.shape[:2]
    device, dtype = face_vertices_image.device, face_vertices_image.dtype
    settings = RasterSettings(image_size=(height, width), blur_px=_CANDIDATE_BAND_PX,
                              faces_per_pixel=_CANDIDATES_PER_PIXEL, perspective_correct=False,
                              clip_barycentric_coords=True,
                              # Kaolin's own coverage test decides below; keep every nearby face.
                              prune_occluded=False)
    rasterizer = _rasterizer(backend, device, settings)
    num_pixels = batch * height * width
    with torch.no_grad():
        # Positive depths with the same order as -z; invalid faces get a negative depth (dropped).
        depth = -face_vertices_z.detach().to(dtype)
        valid = torch.ones_like(depth[..., 0], dtype=torch.bool) if valid_faces is None else valid_faces
        nearest = depth[valid].min() if bool(valid.any()) else depth.new_zeros(())
        depth = torch.where(valid.unsqueeze(-1), depth - nearest + 1.0, torch.full_like(depth, -1.0))
        screen, faces = _to_screen(face_vertices_image.detach(), depth, height, width)
        pix_to_face = rasterizer(screen, faces).pix_to_face
        k = pix_to_face.shape[-1]
        slot = torch.nonzero(pix_to_face.reshape(-1) >= 0).squeeze(-1)
        packed = pix_to_face.reshape(-1)[slot]
        pixel = torch.div(slot, k, rounding_mode="floor")
        col = pixel % width
        row = torch.div(pixel, width, rounding_mode="floor") % height
        x0 = (multiplier / width) * (2 * col + 1 - width).to(dtype)
        y0 = (multiplier / height) * (height - 2 * row - 1).to(dtype)
        corners = face_vertices_image.detach().reshape(-1, 3, 2)[packed] * multiplier
        lo, hi = corners.min(dim=1).values, corners.max(dim=1).values
        in_box = (x0 >= lo[:, 0]) & (x0 < hi[:, 0]) & (y0 >= lo[:, 1]) & (y0 < hi[:, 1])
        w = _kaolin_weights(corners, x0, y0, eps)
        covered = in_box & (w >= 0).all(dim=-1)
        z = face_vertices_z.detach().reshape(-1, 3)[packed].to(dtype)
        z0 = w[:, 0] * z[:, 0] + w[:, 1] * z[:, 1] + w[:, 2] * z[:, 2]
        best_z = torch.full((num_pixels,), float("-inf"), dtype=dtype, device=device)
        best_z = best_z.scatter_reduce(0, pixel[covered], z0[covered], reduce="amax")
        best = covered & (z0 == best_z[pixel])
        best_face = torch.full((num_pixels,), batch * num_faces, dtype=torch.long, device=device)
        best_face = best_face.scatter_reduce(0, pixel[best], packed[best], reduce="amin")
        chosen = torch.nonzero(best & (packed == best_face[pixel])).squeeze(-1)
        pixel, packed, x0, y0 = pixel[chosen], packed[chosen], x0[chosen], y0[chosen]

    corners = face_vertices_image.reshape(-1, 3, 2)[packed] * multiplier  # with gradient
    weights = _kaolin_weights(corners, x0, y0, eps)
    values = torch.einsum("pk,pkd->pd", weights.to(features.dtype), features.reshape(-1, 3, features.shape[-1])[packed])
    out = features.new_zeros(num_pixels, features.shape[-1]).index_put((pixel,), values)
    face_idx = torch.full((num_pixels,), -1, dtype=torch.long, device=device)
    face_idx[pixel] = packed % num_faces
    return _split(out.view(batch, height, width, -1), sizes), face_idx.view(batch, height, width)


def dibr_rasterization(
    height: int,
    width: int,
    face_vertices_z: torch.Tensor,
    face_vertices_image: torch.Tensor,
    face_features: FaceFeatures,
    face_normals_z: torch.Tensor,
    sigmainv: float = 7000,
    boxlen: float = 0.02,
    knum: int = 30,
    multiplier: float | None = None,
    eps: float | None = None,
    rast_backend: str = "cuda",
) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
    """Kaolin's ``dibr_rasterization``: [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize] of the faces with ``face_normals_z >= 0``
    followed by [`dibr_soft_mask`][gan3dlib.compat.kaolin.dibr.dibr_soft_mask].

    Args:
        height: image height H, as in [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize].
        width: image width W.
        face_vertices_z: (B, F, 3) camera-space z, negative in front.
        face_vertices_image: (B, F, 3, 2) NDC x right, y up.
        face_features: (B, F, 3, D) or a sequence of them.
        face_normals_z: (B, F) z of the face normals; only faces with ``face_normals_z >= 0`` are drawn.
        sigmainv: sharpness of [`dibr_soft_mask`][gan3dlib.compat.kaolin.dibr.dibr_soft_mask].
        boxlen: box growth of [`dibr_soft_mask`][gan3dlib.compat.kaolin.dibr.dibr_soft_mask] (NDC).
        knum: faces per pixel of [`dibr_soft_mask`][gan3dlib.compat.kaolin.dibr.dibr_soft_mask].
        multiplier: as in [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize] ([`dibr_soft_mask`][gan3dlib.compat.kaolin.dibr.dibr_soft_mask] gets 1000 when None).
        eps: as in [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize].
        rast_backend: as ``backend`` of [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize].

    Returns:
        features (B, H, W, D) (or a tuple), soft_mask (B, H, W), face_idx (B, H, W) int64.
    """
    check_tensor(face_normals_z, "face_normals_z", (None, None), floating=True)
    features, face_idx = rasterize(height, width, face_vertices_z, face_vertices_image, face_features,
                                   face_normals_z >= 0, multiplier, eps, rast_backend)
    soft_mask = dibr_soft_mask(face_vertices_image, face_idx, sigmainv, boxlen, knum,
                               1000.0 if multiplier is None else multiplier)
    return features, soft_mask, face_idx


def soft_rasterize(
    height: int,
    width: int,
    face_vertices_z: torch.Tensor,
    face_vertices_image: torch.Tensor,
    face_features: FaceFeatures,
    valid_faces: torch.Tensor | None = None,
    blur_px: float = 1.0,
    depth_slope: float = 0.5,
    knum: int = 30,
    backend: str = "auto",
) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
    """Drop-in for ``dibr_rasterization``'s outputs, rendered with the paper's soft extension (§5).

    The crisp layer is the nearest face covering each pixel centre (closed triangles, screen-space
    barycentrics as in [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize]); the soft layer extends every face by ``blur_px`` pixels
    with alpha ``1 - d / blur_px`` (see [`gan3dlib.render.soft_extension`][gan3dlib.render.soft_extension]). Features are the
    soft layer over the crisp layer over a zero background, so silhouettes get gradients where
    Kaolin's [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize] has none.

    Args:
        height: image height H in pixels.
        width: image width W in pixels.
        face_vertices_z: (B, F, 3) camera-space z (negative in front). Only faces with every corner
            at ``z <= -1e-8`` are drawn (unlike [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize]): the extension depth rule needs
            real, positive depths ``-z``.
        face_vertices_image: (B, F, 3, 2) Kaolin NDC.
        face_features: (B, F, 3, D) per-corner features, or a list/tuple of them.
        valid_faces: (B, F) bool; faces that are False are not drawn.
        blur_px: width of the soft band in pixels (> 0).
        depth_slope: λ of the extension depth ``z_s = z(p*) (1 + λ d / blur_px)``.
        knum: faces kept per pixel (the nearest in depth among covering and nearby faces).
        backend: as in [`rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize].

    Returns:
        features: (B, H, W, D) (or a tuple of (B, H, W, D_i)), differentiable w.r.t.
            ``face_vertices_image`` and ``face_features``.
        soft_mask: (B, H, W) total alpha ``α_s + (1 - α_s) α_c`` in [0, 1].
        face_idx: (B, H, W) int64 per-mesh index of the crisp face, -1 where nothing covers.

    Raises:
        ValueError: naming the argument on a wrong shape, dtype, device or value.
    """
    height, width = _check_size(height, width)
    features, sizes = _check_faces_inputs(face_vertices_z, face_vertices_image, face_features, valid_faces)
    check_positive(blur_px, "blur_px")
    check_positive(depth_slope, "depth_slope", allow_zero=True)
    check_positive(knum, "knum", integer=True)
    settings = RasterSettings(image_size=(height, width), blur_px=float(blur_px), faces_per_pixel=knum,
                              perspective_correct=False, clip_barycentric_coords=True, depth_slope=float(depth_slope))
    rasterizer = _rasterizer(backend, face_vertices_image.device, settings)
    depth = -face_vertices_z.to(face_vertices_image.dtype)
    if valid_faces is not None:
        depth = torch.where(valid_faces.unsqueeze(-1), depth, torch.full_like(depth, -1.0))
    screen, faces = _to_screen(face_vertices_image, depth, height, width)
    shader = SoftExtensionShader(settings, perspective_correct=False)
    out = shader(rasterizer(screen.detach(), faces), screen, faces, face_attrs=features)
    features_hwc = out.attributes.permute(0, 2, 3, 1)
    return _split(features_hwc, sizes), out.alpha[:, 0], out.face_idx
