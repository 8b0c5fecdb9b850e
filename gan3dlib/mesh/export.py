"""Export one textured mesh as OBJ + MTL + PNG, binary glTF (GLB) or PLY.

Inputs follow ``docs/conventions.md`` for a single sample (no batch dimension): vertices
``(V, 3)``, faces ``(F, 3)`` counter-clockwise seen from outside, UVs with ``v`` up, textures
``(C, Ht, Wt)`` in ``[0, 1]`` with row 0 at the top (``v = 1``). Take ``[0]`` of batched
generator outputs first.

Decisions shared by all writers:

- **Unused vertices are dropped.** The kept vertices are ``vertex_mask`` (a ``(V,)`` or
  ``MeshGrid``-style ``(N, N)`` bool mask) or, without a mask, the vertices referenced by
  ``faces``; faces are re-indexed to the kept vertices in their original order. A face that
  references a masked-out vertex is an error. Only kept vertices must be finite.
- **UV direction.** OBJ stores ``vt`` with ``v`` up and the PNG as is (row 0 = ``v = 1``), which
  is what OBJ viewers expect. glTF's UV origin is the top-left corner, so GLB stores
  ``TEXCOORD_0 = (u, 1 - v)`` with the same PNG. Viewers sample with ``align_corners=False``
  while gan3dlib's renderer uses ``align_corners=True``; the resulting half-texel shift is
  inherent to the formats and not corrected.
- **Separate UV indices.** OBJ writes ``f v/vt`` with independent indices. glTF has one index
  per corner, so when ``face_uvs_idx`` differs from ``faces`` the GLB writer splits every
  (vertex, uv) pair into its own vertex (normals stay shared across the split).
- **Paths.** ``path`` may carry the format's extension (any case) or none, in which case it is
  appended; any other suffix raises ``ValueError`` (so ``sample.v1`` must be written
  ``sample.v1.obj``). Parent directories are created.
- **Atomic writes.** Each file is written to a hidden temporary file in its own directory, synced
  and moved into place with ``os.replace``; on failure the temporary file is removed. The OBJ
  export writes all three temporaries first and then replaces the PNG, MTL and OBJ in that order,
  so a crash leaves every name holding either its old or its new complete file (the set may mix
  old and new files if the crash falls between two replaces).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan3dlib.mesh.gltf import glb_bytes
from gan3dlib.ops.mesh import vertex_normals
from gan3dlib.render.texture import sample_texture
from gan3dlib.utils.atomic import atomic_write_many
from gan3dlib.utils.checks import check_faces, check_tensor, describe

__all__ = ["export_obj", "export_glb", "export_ply", "export_mesh", "sample_vertex_colors"]

_FORMATS = ("obj", "glb", "ply")


def _resolve_path(path: str | os.PathLike, ext: str) -> Path:
    """Returns ``path`` with the suffix ``.ext``: kept if present (any case), appended if none."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path: expected a str or os.PathLike file path, got {describe(path)}")
    p = Path(path)
    if p.name in ("", ".", ".."):
        raise ValueError(f"path: expected a file path, got {str(path)!r}")
    if p.suffix == "":
        return p.with_name(p.name + "." + ext)
    if p.suffix.lower() != "." + ext:
        raise ValueError(f"path: expected a '.{ext}' file name or one without extension, got {str(path)!r}")
    return p


def _prepare(
    vertices: torch.Tensor, faces: torch.Tensor, vertex_mask: torch.Tensor | None
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Validates the geometry and drops unused vertices.

    Returns:
        ``(V', 3)`` float32 kept positions, ``(F, 3)`` int64 faces re-indexed to them and the
        ``(V,)`` bool mask of kept vertices.
    """
    check_tensor(vertices, "vertices", (None, 3), floating=True)
    v = vertices.shape[0]
    faces = check_faces(faces, v).detach().cpu().long()
    verts = vertices.detach().cpu().double()
    referenced = torch.zeros(v, dtype=torch.bool)
    referenced[faces.reshape(-1)] = True
    if vertex_mask is None:
        keep = referenced
    else:
        check_tensor(vertex_mask, "vertex_mask", dtypes=(torch.bool,))
        n = int(round(v**0.5))
        if not (vertex_mask.shape == (v,) or (vertex_mask.ndim == 2 and vertex_mask.shape == (n, n) and n * n == v)):
            raise ValueError(f"vertex_mask: expected a bool tensor of shape ({v},) or (N, N) with N² = {v}, "
                             f"got {describe(vertex_mask)}")
        keep = vertex_mask.detach().cpu().reshape(v)
        if bool((referenced & ~keep).any()):
            raise ValueError(f"vertex_mask: expected every vertex referenced by faces to be kept, but "
                             f"{int((referenced & ~keep).sum())} referenced vertices are masked out")
    bad = int((~torch.isfinite(verts[keep])).any(dim=-1).sum())
    if bad:
        raise ValueError(f"vertices: expected finite positions for the kept vertices, got {bad} with NaN/inf")
    remap = torch.cumsum(keep.long(), 0) - 1
    return verts[keep].float().numpy(), remap[faces].numpy(), keep


def _prepare_uvs(
    uvs: torch.Tensor, face_uvs_idx: torch.Tensor | None, faces: torch.Tensor, keep: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validates UVs; returns ``(U', 2)`` float32 kept UVs (v up), ``(F, 3)`` int64 UV indices and
    whether the UVs are per vertex (then UV ``i`` belongs to kept vertex ``i``)."""
    v = keep.shape[0]
    if face_uvs_idx is None:
        check_tensor(uvs, "uvs", (v, 2), floating=True, finite=True)
    else:
        check_tensor(uvs, "uvs", (None, 2), floating=True, finite=True)
        check_tensor(face_uvs_idx, "face_uvs_idx", (faces.shape[0], 3))
        check_faces(face_uvs_idx, uvs.shape[0], "face_uvs_idx")
    uvs_np = uvs.detach().cpu().float()
    faces_cpu = faces.detach().cpu().long()
    fuv = faces_cpu if face_uvs_idx is None else face_uvs_idx.detach().cpu().long()
    per_vertex = uvs.shape[0] == v and torch.equal(fuv, faces_cpu)
    if per_vertex:  # UV i stays with vertex i
        uv_keep = keep
    else:
        uv_keep = torch.zeros(uvs.shape[0], dtype=torch.bool)
        uv_keep[fuv.reshape(-1)] = True
    remap = torch.cumsum(uv_keep.long(), 0) - 1
    return uvs_np[uv_keep].numpy(), remap[fuv].numpy(), per_vertex


def _check_texture(texture: torch.Tensor) -> None:
    """Checks for a finite floating ``(C, Ht, Wt)`` texture in ``[0, 1]`` with C = 3 or 4."""
    check_tensor(texture, "texture", (None, None, None), floating=True, finite=True)
    c, h, w = texture.shape
    if c not in (3, 4) or h < 1 or w < 1:
        raise ValueError(f"texture: expected shape (C, Ht, Wt) with C = 3 (RGB) or 4 (RGBA) and Ht, Wt >= 1, "
                         f"got {describe(texture)}")
    lo, hi = float(texture.min()), float(texture.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"texture: expected values in [0, 1], got values in [{lo:.6g}, {hi:.6g}]")


def _texture_png(texture: torch.Tensor) -> bytes:
    """Encodes a ``(C, Ht, Wt)`` texture in ``[0, 1]`` (C = 3 or 4) as PNG bytes, row 0 on top."""
    _check_texture(texture)
    pixels = (texture.detach().cpu().double() * 255.0).round().to(torch.uint8).permute(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels.numpy())).save(buf, format="PNG")
    return buf.getvalue()


def _fmt_rows(prefix: str, rows: np.ndarray) -> str:
    """Formats each row as ``prefix a b c`` with float32 round-trip precision."""
    if rows.size == 0:
        return ""
    line = prefix + " %.9g" * rows.shape[1] + "\n"
    return (line * rows.shape[0]) % tuple(rows.astype(np.float64).ravel().tolist())


def export_obj(
    path: str | os.PathLike, vertices: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor,
    texture: torch.Tensor, face_uvs_idx: torch.Tensor | None = None, vertex_mask: torch.Tensor | None = None,
) -> tuple[Path, Path, Path]:
    """Writes a Wavefront OBJ with its MTL material and PNG texture (``name.obj/.mtl/.png``).

    The OBJ holds ``v`` lines (kept vertices), ``vt`` lines (``v`` up), ``mtllib``/``usemtl`` and
    1-based ``f v/vt`` triangles; the MTL's ``map_Kd`` names the PNG (row 0 = ``v = 1``). With
    per-vertex UVs, ``vt`` line ``i`` belongs to ``v`` line ``i``.

    Args:
        path: target ``.obj`` path (extension optional); the file name must not contain
            whitespace, which ``mtllib``/``map_Kd`` cannot represent.
        vertices: ``(V, 3)`` floating positions.
        faces: ``(F, 3)`` int64/int32 vertex indices, counter-clockwise seen from outside.
        uvs: ``(V, 2)`` per-vertex UVs (``v`` up), or ``(U, 2)`` indexed by ``face_uvs_idx``.
        texture: ``(C, Ht, Wt)`` floating texture in ``[0, 1]``, ``C`` = 3 (RGB) or 4 (RGBA).
        face_uvs_idx: optional ``(F, 3)`` integer indices into ``uvs`` (default: ``faces``).
        vertex_mask: optional ``(V,)`` or ``(N, N)`` bool mask of the vertices to keep.

    Returns:
        The written ``(obj, mtl, png)`` paths.

    Raises:
        ValueError: naming the argument for a bad path, shape, dtype, index, non-finite value or
            texture range.
    """
    obj_path = _resolve_path(path, "obj")
    if any(ch.isspace() for ch in obj_path.stem):
        raise ValueError(f"path: expected an OBJ file name without whitespace, got {obj_path.name!r}")
    positions, tri, keep = _prepare(vertices, faces, vertex_mask)
    uv, tri_uv, _ = _prepare_uvs(uvs, face_uvs_idx, faces, keep)
    png = _texture_png(texture)
    mtl_path, png_path = obj_path.with_suffix(".mtl"), obj_path.with_suffix(".png")
    mtl = f"newmtl material0\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd {png_path.name}\n"
    corners = tuple(np.stack([tri + 1, tri_uv + 1], axis=-1).reshape(-1).tolist())
    obj = "".join([f"# gan3dlib mesh export: {len(positions)} vertices, {len(tri)} faces\n",
                   f"mtllib {mtl_path.name}\n", _fmt_rows("v", positions), _fmt_rows("vt", uv),
                   "usemtl material0\n", ("f %d/%d %d/%d %d/%d\n" * len(tri)) % corners])
    atomic_write_many([(png_path, png), (mtl_path, mtl.encode()), (obj_path, obj.encode())])
    return obj_path, mtl_path, png_path


def export_glb(
    path: str | os.PathLike, vertices: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor,
    texture: torch.Tensor, face_uvs_idx: torch.Tensor | None = None, vertex_mask: torch.Tensor | None = None,
    normals: bool = True,
) -> Path:
    """Writes a binary glTF 2.0 file with the PNG texture embedded.

    One mesh with one triangle primitive: ``POSITION`` (with min/max), optional ``NORMAL``,
    ``TEXCOORD_0 = (u, 1 - v)`` (glTF's UV origin is the top-left), ``uint32`` indices and a
    single-sided PBR material (metallic 0, roughness 1, ``baseColorTexture``, clamp-to-edge
    sampler; ``alphaMode`` ``BLEND`` for RGBA). The PNG sits in the binary chunk behind a
    ``bufferView`` with ``mimeType`` ``image/png``. Faces keep their counter-clockwise winding.
    If ``face_uvs_idx`` differs from ``faces``, vertices are split per (vertex, uv) pair.

    Args:
        path: target ``.glb`` path (extension optional).
        vertices: ``(V, 3)`` floating positions.
        faces: ``(F, 3)`` int64/int32 vertex indices, counter-clockwise seen from outside.
        uvs: ``(V, 2)`` per-vertex UVs (``v`` up), or ``(U, 2)`` indexed by ``face_uvs_idx``.
        texture: ``(C, Ht, Wt)`` floating texture in ``[0, 1]``, ``C`` = 3 (RGB) or 4 (RGBA).
        face_uvs_idx: optional ``(F, 3)`` integer indices into ``uvs`` (default: ``faces``).
        vertex_mask: optional ``(V,)`` or ``(N, N)`` bool mask of the vertices to keep.
        normals: write area-weighted unit vertex normals ([`gan3dlib.ops.vertex_normals`][gan3dlib.ops.vertex_normals]);
            a vertex whose normal vanishes gets ``(0, 0, 1)``.

    Returns:
        The written path.

    Raises:
        ValueError: naming the argument for a bad path, shape, dtype, index, non-finite value or
            texture range.
    """
    glb_path = _resolve_path(path, "glb")
    positions, tri, keep = _prepare(vertices, faces, vertex_mask)
    uv, tri_uv, per_vertex = _prepare_uvs(uvs, face_uvs_idx, faces, keep)
    png = _texture_png(texture)
    nrm = None
    if normals:
        n = vertex_normals(torch.from_numpy(positions).double()[None], torch.from_numpy(tri))[0]
        n[n.norm(dim=-1) < 0.5] = torch.tensor([0.0, 0.0, 1.0], dtype=n.dtype)
        nrm = n.float().numpy()
    if not per_vertex:  # one glTF vertex per distinct (vertex, uv) pair
        pairs = np.stack([tri.reshape(-1), tri_uv.reshape(-1)], axis=-1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        positions, uv, tri = positions[unique[:, 0]], uv[unique[:, 1]], inverse.reshape(-1, 3)
        nrm = None if nrm is None else nrm[unique[:, 0]]
    texcoord = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=-1).astype(np.float32)
    data = glb_bytes(np.ascontiguousarray(positions, np.float32), nrm, texcoord, tri, png,
                      texture.shape[0] == 4, glb_path.stem)
    atomic_write_many([(glb_path, data)])
    return glb_path


def export_ply(
    path: str | os.PathLike, vertices: torch.Tensor, faces: torch.Tensor,
    vertex_colors: torch.Tensor | None = None, vertex_mask: torch.Tensor | None = None,
) -> Path:
    """Writes a binary little-endian PLY: ``element vertex`` (float ``x y z``, plus uchar
    ``red green blue`` = ``round(255 c)`` when colours are given) and ``element face``
    (``list uchar int vertex_indices``).

    Args:
        path: target ``.ply`` path (extension optional).
        vertices: ``(V, 3)`` floating positions.
        faces: ``(F, 3)`` int64/int32 vertex indices, counter-clockwise seen from outside.
        vertex_colors: optional ``(V, 3)`` floating RGB in ``[0, 1]``, e.g.
            [`sample_vertex_colors`][gan3dlib.mesh.export.sample_vertex_colors] of the texture.
        vertex_mask: optional ``(V,)`` or ``(N, N)`` bool mask of the vertices to keep.

    Returns:
        The written path.

    Raises:
        ValueError: naming the argument for a bad path, shape, dtype, index, non-finite value or
            colour range.
    """
    ply_path = _resolve_path(path, "ply")
    positions, tri, keep = _prepare(vertices, faces, vertex_mask)
    props = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if vertex_colors is not None:
        check_tensor(vertex_colors, "vertex_colors", (vertices.shape[0], 3), floating=True, finite=True)
        colors = vertex_colors.detach().cpu().double()[keep]
        lo, hi = float(colors.min()), float(colors.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"vertex_colors: expected values in [0, 1], got values in [{lo:.6g}, {hi:.6g}]")
        props += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vert = np.empty(len(positions), dtype=props)
    vert["x"], vert["y"], vert["z"] = positions.T
    if vertex_colors is not None:
        vert["red"], vert["green"], vert["blue"] = (colors * 255.0).round().to(torch.uint8).numpy().T
    face = np.empty(len(tri), dtype=[("n", "u1"), ("idx", "<i4", (3,))])
    face["n"], face["idx"] = 3, tri
    kinds = {"<f4": "float", "u1": "uchar"}
    header = ["ply", "format binary_little_endian 1.0", "comment gan3dlib mesh export",
              f"element vertex {len(vert)}", *(f"property {kinds[t]} {n}" for n, t in props),
              f"element face {len(face)}", "property list uchar int vertex_indices", "end_header", ""]
    atomic_write_many([(ply_path, "\n".join(header).encode("ascii") + vert.tobytes() + face.tobytes())])
    return ply_path


def sample_vertex_colors(uvs: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
    """Samples a texture at per-vertex UVs (bilinear, ``align_corners=True``, as the renderer).

    Args:
        uvs: ``(V, 2)`` floating UVs, ``v`` up.
        texture: ``(C, Ht, Wt)`` floating texture, row 0 at ``v = 1``.

    Returns:
        ``(V, C)`` colours, clamped to the texture's value range.
    """
    check_tensor(uvs, "uvs", (None, 2), floating=True)
    check_tensor(texture, "texture", (None, None, None), floating=True)
    tex = texture.detach()
    index = torch.zeros(uvs.shape[0], dtype=torch.int64, device=tex.device)
    out = sample_texture(tex[None], uvs.detach().to(tex.device, tex.dtype), index)
    return out.clamp(tex.min(), tex.max())  # bilinear weights can overshoot by an ulp


def export_mesh(
    path: str | os.PathLike, vertices: torch.Tensor, faces: torch.Tensor, format: str | None = None,
    uvs: torch.Tensor | None = None, texture: torch.Tensor | None = None,
    face_uvs_idx: torch.Tensor | None = None, vertex_mask: torch.Tensor | None = None,
    vertex_colors: torch.Tensor | None = None, normals: bool = True,
) -> list[Path]:
    """Exports with [`export_obj`][gan3dlib.mesh.export.export_obj], [`export_glb`][gan3dlib.mesh.export.export_glb] or [`export_ply`][gan3dlib.mesh.export.export_ply].

    Args:
        path: target path; its extension picks the format when ``format`` is None.
        vertices: ``(V, 3)`` floating positions.
        faces: ``(F, 3)`` integer vertex indices.
        format: ``'obj'``, ``'glb'`` or ``'ply'`` (case-insensitive), or None.
        uvs: ``(V, 2)`` or ``(U, 2)`` UVs; required for OBJ and GLB.
        texture: ``(C, Ht, Wt)`` texture in ``[0, 1]``; required for OBJ and GLB.
        face_uvs_idx: optional ``(F, 3)`` indices into ``uvs``.
        vertex_mask: optional ``(V,)`` or ``(N, N)`` bool mask of the vertices to keep.
        vertex_colors: ``(V, 3)`` PLY colours; when None and ``uvs`` (per vertex) and ``texture``
            are given, PLY colours are the texture sampled at the UVs (alpha dropped).
        normals: GLB only, see [`export_glb`][gan3dlib.mesh.export.export_glb].

    Returns:
        The written paths (OBJ: obj, mtl, png).

    Raises:
        ValueError: naming ``format``, ``path`` or the offending tensor.
    """
    if format is None:
        format = Path(os.fspath(path)).suffix.lstrip(".") if isinstance(path, (str, os.PathLike)) else ""
        if format.lower() not in _FORMATS:
            raise ValueError(f"path: expected a .obj, .glb or .ply extension when format is None, got {path!r}")
    if not isinstance(format, str) or format.lower() not in _FORMATS:
        raise ValueError(f"format: expected one of {_FORMATS} or None, got {describe(format)}")
    format = format.lower()
    if format == "ply":
        if vertex_colors is None and uvs is not None and texture is not None:
            check_tensor(vertices, "vertices", (None, 3), floating=True)
            check_faces(faces, vertices.shape[0])
            per_vertex = face_uvs_idx is None or (
                isinstance(face_uvs_idx, torch.Tensor) and face_uvs_idx.shape == faces.shape
                and torch.equal(face_uvs_idx.cpu().long(), faces.cpu().long()))
            if not per_vertex:
                raise ValueError("face_uvs_idx: PLY colours from a texture need per-vertex UVs (face_uvs_idx == faces)")
            check_tensor(uvs, "uvs", (vertices.shape[0], 2), floating=True, finite=True)
            _check_texture(texture)
            vertex_colors = sample_vertex_colors(uvs, texture)[:, :3]
        return [export_ply(path, vertices, faces, vertex_colors, vertex_mask)]
    for name, value in (("uvs", uvs), ("texture", texture)):
        if value is None:
            raise ValueError(f"{name}: required for the {format!r} format, got None")
    assert uvs is not None and texture is not None
    if format == "obj":
        return list(export_obj(path, vertices, faces, uvs, texture, face_uvs_idx, vertex_mask))
    return [export_glb(path, vertices, faces, uvs, texture, face_uvs_idx, vertex_mask, normals)]

