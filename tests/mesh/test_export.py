"""Tests for gan3dlib.mesh.export: re-import with independent loaders and compare."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pygltflib
import pytest
import torch
import trimesh
from PIL import Image
from pytorch3d.io import load_obj

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
from gan3dlib.mesh.export import export_glb, export_mesh, export_obj, export_ply, sample_vertex_colors
from gan3dlib.render.texture import sample_texture

N = 8


@pytest.fixture
def mesh() -> dict:
    """Sphere on the 8x8 grid (unused vertices kept) with a random 16x16 RGB texture."""
    gen = torch.Generator().manual_seed(0)
    grid = build_mesh_grid(N)
    vertices = sphere_shape_image(N).reshape(3, -1).T.contiguous()  # (V, 3)
    mask = grid.vertex_mask.reshape(-1)
    remap = torch.cumsum(mask.long(), 0) - 1
    return {
        "vertices": vertices,
        "faces": grid.faces,
        "uvs": grid.uvs,
        "texture": torch.rand(3, 16, 16, generator=gen),
        "vertex_mask": grid.vertex_mask,
        # what a file should contain after dropping unused vertices
        "kept_vertices": vertices[mask],
        "kept_uvs": grid.uvs[mask],
        "kept_faces": remap[grid.faces],
    }


def _tex_uint8(texture: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, C) uint8 as the exporter stores it."""
    return (texture * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _triangle_set(positions: np.ndarray, faces: np.ndarray) -> set:
    """Triangles as tuples of rounded corner positions, rotated to a canonical start (keeps winding)."""
    out = set()
    for tri in np.asarray(faces):
        corners = [tuple(np.round(positions[k], 5).tolist()) for k in tri]
        start = corners.index(min(corners))
        out.add(tuple(corners[start:] + corners[:start]))
    return out


def _assert_outward(positions: np.ndarray, faces: np.ndarray) -> None:
    """Face normals cross(v1 - v0, v2 - v0) point away from the sphere centre (the origin)."""
    a, b, c = (np.asarray(positions, np.float64)[np.asarray(faces)[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)
    big = np.linalg.norm(normals, axis=-1) > 1e-9
    assert big.sum() > 0
    assert (np.einsum("fi,fi->f", normals, (a + b + c) / 3)[big] > 0).all()


def _bilinear_rows(image: np.ndarray, st: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an (H, W, C) image at (col, row) = (s * (W-1), t * (H-1))."""
    h, w = image.shape[:2]
    x, y = st[:, 0] * (w - 1), st[:, 1] * (h - 1)
    x0 = np.clip(np.floor(x).astype(int), 0, w - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, h - 2)
    wx, wy = (x - x0)[:, None], (y - y0)[:, None]
    top = image[y0, x0] * (1 - wx) + image[y0, x0 + 1] * wx
    bottom = image[y0 + 1, x0] * (1 - wx) + image[y0 + 1, x0 + 1] * wx
    return top * (1 - wy) + bottom * wy


def _gltf_accessor(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_INT: np.uint32}[acc.componentType]
    comps = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[acc.type]
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    arr = np.frombuffer(gltf.binary_blob(), dtype=dtype, count=acc.count * comps, offset=start)
    return arr.reshape(acc.count, comps)


def _gltf_image(gltf: pygltflib.GLTF2) -> np.ndarray:
    image = gltf.images[gltf.textures[gltf.materials[0].pbrMetallicRoughness.baseColorTexture.index].source]
    assert image.mimeType == "image/png"
    view = gltf.bufferViews[image.bufferView]
    data = gltf.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    return np.asarray(Image.open(io.BytesIO(data)))


def _export_obj(mesh: dict, path) -> tuple:
    return export_obj(path, mesh["vertices"], mesh["faces"], mesh["uvs"], mesh["texture"],
                      vertex_mask=mesh["vertex_mask"])


def _export_glb(mesh: dict, path):
    return export_glb(path, mesh["vertices"], mesh["faces"], mesh["uvs"], mesh["texture"],
                      vertex_mask=mesh["vertex_mask"])


# ----------------------------------------------------------------------------------------- OBJ


def test_obj_pytorch3d_roundtrip(mesh, tmp_path):
    obj, mtl, png = _export_obj(mesh, tmp_path / "sub" / "sample")
    assert (obj.name, mtl.name, png.name) == ("sample.obj", "sample.mtl", "sample.png")
    assert obj.parent == tmp_path / "sub"
    verts, faces, aux = load_obj(obj)
    assert verts.shape[0] == int(mesh["vertex_mask"].sum()) < mesh["vertices"].shape[0]
    torch.testing.assert_close(verts, mesh["kept_vertices"], rtol=0, atol=1e-7)
    assert torch.equal(faces.verts_idx, mesh["kept_faces"])
    assert _triangle_set(verts.numpy(), faces.verts_idx.numpy()) == _triangle_set(
        mesh["vertices"].numpy(), mesh["faces"].numpy())
    torch.testing.assert_close(aux.verts_uvs, mesh["kept_uvs"], rtol=0, atol=1e-7)
    assert torch.equal(faces.textures_idx, mesh["kept_faces"])
    (image,) = aux.texture_images.values()  # (H, W, 3), row 0 = top = v = 1
    torch.testing.assert_close(image, mesh["texture"].permute(1, 2, 0), rtol=0, atol=0.5 / 255 + 1e-6)
    _assert_outward(verts.numpy(), faces.verts_idx.numpy())


def test_obj_trimesh(mesh, tmp_path):
    obj, _, _ = _export_obj(mesh, tmp_path / "sample.obj")
    loaded = trimesh.load(obj, process=False)
    np.testing.assert_allclose(loaded.vertices, mesh["kept_vertices"].numpy(), atol=1e-7)
    np.testing.assert_array_equal(loaded.faces, mesh["kept_faces"].numpy())
    np.testing.assert_allclose(loaded.visual.uv, mesh["kept_uvs"].numpy(), atol=1e-7)
    np.testing.assert_array_equal(np.asarray(loaded.visual.material.image.convert("RGB")),
                                  _tex_uint8(mesh["texture"]))


def test_obj_file_text(mesh, tmp_path):
    obj, mtl, _ = _export_obj(mesh, tmp_path / "m")
    lines = obj.read_text().splitlines()
    assert "mtllib m.mtl" in lines and "usemtl material0" in lines
    f_lines = [ln for ln in lines if ln.startswith("f ")]
    assert len(f_lines) == mesh["faces"].shape[0]
    first = [int(t.split("/")[0]) for t in f_lines[0].split()[1:]]
    assert first == (mesh["kept_faces"][0] + 1).tolist()  # 1-based
    assert "map_Kd m.png" in mtl.read_text().splitlines()


# ----------------------------------------------------------------------------------------- GLB


def test_glb_pygltflib(mesh, tmp_path):
    path = _export_glb(mesh, tmp_path / "sample")
    assert path.name == "sample.glb"
    raw = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", raw, 0)
    json_len, json_type = struct.unpack_from("<II", raw, 12)
    assert (magic, version, length, json_type) == (0x46546C67, 2, len(raw), 0x4E4F534A)
    assert json_len % 4 == 0 and len(raw) % 4 == 0
    gltf = pygltflib.GLTF2().load_binary(str(path))
    prim = gltf.meshes[0].primitives[0]
    positions = _gltf_accessor(gltf, prim.attributes.POSITION)
    np.testing.assert_allclose(positions, mesh["kept_vertices"].numpy(), atol=0)
    indices = _gltf_accessor(gltf, prim.indices).reshape(-1, 3)
    np.testing.assert_array_equal(indices, mesh["kept_faces"].numpy())
    texcoord = _gltf_accessor(gltf, prim.attributes.TEXCOORD_0)
    uv = mesh["kept_uvs"].numpy()
    np.testing.assert_allclose(texcoord, np.stack([uv[:, 0], 1 - uv[:, 1]], -1), atol=1e-7)
    normals = _gltf_accessor(gltf, prim.attributes.NORMAL)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=1e-5)
    assert (np.einsum("vi,vi->v", normals, positions) > 0).all()  # outward on the sphere
    np.testing.assert_array_equal(_gltf_image(gltf), _tex_uint8(mesh["texture"]))
    _assert_outward(positions, indices)


def test_glb_trimesh(mesh, tmp_path):
    path = _export_glb(mesh, tmp_path / "sample.GLB")
    assert path.name == "sample.GLB"
    scene = trimesh.load(path, process=False)
    (loaded,) = scene.geometry.values()
    np.testing.assert_allclose(loaded.vertices, mesh["kept_vertices"].numpy(), atol=1e-7)
    np.testing.assert_array_equal(loaded.faces, mesh["kept_faces"].numpy())
    # trimesh converts glTF texcoords back to v-up UVs
    np.testing.assert_allclose(loaded.visual.uv, mesh["kept_uvs"].numpy(), atol=1e-6)
    image = loaded.visual.material.baseColorTexture
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), _tex_uint8(mesh["texture"]))
    _assert_outward(loaded.vertices, loaded.faces)


def test_glb_rgba_and_no_normals(mesh, tmp_path):
    texture = torch.cat([mesh["texture"], torch.full((1, 16, 16), 0.5)])
    path = export_glb(tmp_path / "a", mesh["vertices"], mesh["faces"], mesh["uvs"], texture, normals=False)
    gltf = pygltflib.GLTF2().load_binary(str(path))
    assert gltf.meshes[0].primitives[0].attributes.NORMAL is None
    assert gltf.materials[0].alphaMode == "BLEND"
    np.testing.assert_array_equal(_gltf_image(gltf), _tex_uint8(texture))
    # without a mask the unreferenced vertices are dropped as well
    assert gltf.accessors[0].count == int(mesh["vertex_mask"].sum())


def test_separate_uv_indices(mesh, tmp_path):
    """face_uvs_idx != faces: OBJ keeps f v/vt, GLB splits vertices per (vertex, uv) pair."""
    v, f = mesh["vertices"].shape[0], mesh["faces"].shape[0]
    uvs = torch.cat([mesh["uvs"], 0.5 * mesh["uvs"] + 0.25])
    face_uvs_idx = mesh["faces"].clone()
    face_uvs_idx[f // 2 :] += v
    corner_pos = mesh["vertices"][mesh["faces"]].numpy()  # (F, 3, 3)
    corner_uv = uvs[face_uvs_idx].numpy()  # (F, 3, 2)
    obj, _, _ = export_obj(tmp_path / "s", mesh["vertices"], mesh["faces"], uvs, mesh["texture"],
                           face_uvs_idx=face_uvs_idx, vertex_mask=mesh["vertex_mask"])
    verts, faces, aux = load_obj(obj)
    np.testing.assert_allclose(verts[faces.verts_idx].numpy(), corner_pos, atol=1e-7)
    np.testing.assert_allclose(aux.verts_uvs[faces.textures_idx].numpy(), corner_uv, atol=1e-7)
    path = export_glb(tmp_path / "s", mesh["vertices"], mesh["faces"], uvs, mesh["texture"],
                      face_uvs_idx=face_uvs_idx)
    gltf = pygltflib.GLTF2().load_binary(str(path))
    prim = gltf.meshes[0].primitives[0]
    indices = _gltf_accessor(gltf, prim.indices).reshape(-1, 3)
    positions = _gltf_accessor(gltf, prim.attributes.POSITION)
    st = _gltf_accessor(gltf, prim.attributes.TEXCOORD_0)
    shared = np.unique(mesh["faces"][: f // 2].reshape(-1).numpy())
    split = np.unique(mesh["faces"][f // 2 :].reshape(-1).numpy())
    assert positions.shape[0] == len(shared) + len(split) > int(mesh["vertex_mask"].sum())
    np.testing.assert_allclose(positions[indices], corner_pos, atol=0)
    np.testing.assert_allclose(st[indices][..., 0], corner_uv[..., 0], atol=1e-7)
    np.testing.assert_allclose(st[indices][..., 1], 1 - corner_uv[..., 1], atol=1e-7)
    _assert_outward(positions, indices)


# ----------------------------------------------------------------------------------------- PLY


def test_ply_trimesh(mesh, tmp_path):
    colors = sample_vertex_colors(mesh["uvs"], mesh["texture"])  # (V, 3)
    path = export_ply(tmp_path / "p", mesh["vertices"], mesh["faces"], colors, mesh["vertex_mask"])
    header = path.read_bytes().split(b"end_header\n")[0].decode()
    assert "format binary_little_endian 1.0" in header
    assert "property uchar red" in header and "property list uchar int vertex_indices" in header
    loaded = trimesh.load(path, process=False)
    np.testing.assert_allclose(loaded.vertices, mesh["kept_vertices"].numpy(), atol=1e-7)
    np.testing.assert_array_equal(loaded.faces, mesh["kept_faces"].numpy())
    expected = (colors[mesh["vertex_mask"].reshape(-1)] * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(loaded.visual.vertex_colors[:, :3], expected)
    _assert_outward(loaded.vertices, loaded.faces)


def test_ply_without_colors_and_dispatch(mesh, tmp_path):
    path = export_ply(tmp_path / "plain.ply", mesh["vertices"], mesh["faces"])
    assert b"red" not in path.read_bytes().split(b"end_header")[0]
    assert trimesh.load(path, process=False).vertices.shape[0] == int(mesh["vertex_mask"].sum())
    # export_mesh samples PLY colours from the texture when no colours are given
    (p1,) = export_mesh(tmp_path / "a.ply", mesh["vertices"], mesh["faces"], uvs=mesh["uvs"],
                        texture=mesh["texture"])
    p2 = export_ply(tmp_path / "b", mesh["vertices"], mesh["faces"], sample_vertex_colors(mesh["uvs"], mesh["texture"]))
    assert p1.read_bytes() == p2.read_bytes()


def test_export_mesh_dispatch(mesh, tmp_path):
    args = (mesh["vertices"], mesh["faces"])
    kw = {"uvs": mesh["uvs"], "texture": mesh["texture"], "vertex_mask": mesh["vertex_mask"]}
    written = export_mesh(tmp_path / "x.obj", *args, **kw)
    assert [p.name for p in written] == ["x.obj", "x.mtl", "x.png"]
    assert [p.name for p in export_mesh(tmp_path / "y", *args, format="GLB", **kw)] == ["y.glb"]
    with pytest.raises(ValueError, match=r"^format:"):
        export_mesh(tmp_path / "z", *args, format="stl", **kw)
    with pytest.raises(ValueError, match=r"^path:"):
        export_mesh(tmp_path / "z", *args, **kw)
    with pytest.raises(ValueError, match=r"^texture:"):
        export_mesh(tmp_path / "z.glb", *args, uvs=mesh["uvs"])


# ------------------------------------------------------------------------------- UV direction


def test_v_direction(mesh, tmp_path):
    """The exported PNG sampled at row (1 - v) * (H - 1) (OBJ) or t * (H - 1) (glTF) gives the
    colour gan3dlib's renderer samples at the same UV."""
    texture = mesh["texture"]
    keep = mesh["vertex_mask"].reshape(-1)
    uv = mesh["uvs"][keep]
    expected = sample_texture(texture[None], uv, torch.zeros(len(uv), dtype=torch.int64)).numpy()
    _, _, png = _export_obj(mesh, tmp_path / "s")
    image = np.asarray(Image.open(png), dtype=np.float64) / 255
    st = np.stack([uv[:, 0].numpy(), 1 - uv[:, 1].numpy()], -1)
    np.testing.assert_allclose(_bilinear_rows(image, st), expected, atol=0.5 / 255 + 1e-6)
    # reading rows with v down (row = v * (H - 1)) would not match: the texture is random
    assert np.abs(_bilinear_rows(image, uv.numpy()) - expected).max() > 0.05
    gltf = pygltflib.GLTF2().load_binary(str(_export_glb(mesh, tmp_path / "s")))
    st_gltf = _gltf_accessor(gltf, gltf.meshes[0].primitives[0].attributes.TEXCOORD_0)
    np.testing.assert_allclose(_bilinear_rows(_gltf_image(gltf) / 255, st_gltf), expected,
                               atol=0.5 / 255 + 1e-5)


# --------------------------------------------------------------------------------- atomicity


def _temps(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_atomic_obj(mesh, tmp_path, monkeypatch):
    files = _export_obj(mesh, tmp_path / "s")
    old = [p.read_bytes() for p in files]
    other = dict(mesh, vertices=mesh["vertices"] * 2, texture=1 - mesh["texture"])
    new = [p.read_bytes() for p in _export_obj(other, tmp_path / "ref" / "s")]
    real_replace, calls = os.replace, []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the PNG is replaced, then the MTL fails
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="simulated"):
        _export_obj(other, tmp_path / "s")
    monkeypatch.undo()
    obj_b, mtl_b, png_b = (p.read_bytes() for p in files)
    assert (obj_b, mtl_b) == (old[0], old[1])  # untouched
    assert png_b in (old[2], new[2]) and png_b == new[2]  # complete file, old or new
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("fail", ["replace", "fsync"])
def test_atomic_single_file(mesh, tmp_path, monkeypatch, fail):
    glb = _export_glb(mesh, tmp_path / "s")
    ply = export_ply(tmp_path / "s", mesh["vertices"], mesh["faces"])
    old = glb.read_bytes(), ply.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("simulated crash")

    monkeypatch.setattr(os, fail, boom)
    other = dict(mesh, vertices=mesh["vertices"] * 2)
    with pytest.raises(OSError, match="simulated"):
        _export_glb(other, tmp_path / "s")
    with pytest.raises(OSError, match="simulated"):
        export_ply(tmp_path / "s", other["vertices"], mesh["faces"])
    with pytest.raises(OSError, match="simulated"):
        export_ply(tmp_path / "fresh", other["vertices"], mesh["faces"])
    monkeypatch.undo()
    assert (glb.read_bytes(), ply.read_bytes()) == old
    assert not (tmp_path / "fresh.ply").exists()
    assert _temps(tmp_path) == []


# -------------------------------------------------------------------------------- bad inputs


def _bad_cases(mesh: dict) -> list[tuple[str, dict]]:
    v = mesh["vertices"]
    nan_used = v.clone()
    nan_used[mesh["faces"][0, 0]] = float("nan")
    nan_unused = v.clone()
    nan_unused[~mesh["vertex_mask"].reshape(-1)] = float("nan")
    partial_mask = mesh["vertex_mask"].clone().reshape(-1)
    partial_mask[mesh["faces"][0, 0]] = False
    return [
        ("vertices", {"vertices": v[:, :2]}),
        ("vertices", {"vertices": v.long()}),
        ("vertices", {"vertices": nan_used}),
        ("faces", {"faces": mesh["faces"] + v.shape[0]}),
        ("faces", {"faces": mesh["faces"].float()}),
        ("faces", {"faces": mesh["faces"][:, :2]}),
        ("uvs", {"uvs": mesh["uvs"][:-1]}),
        ("uvs", {"uvs": mesh["uvs"][:, :1]}),
        ("texture", {"texture": mesh["texture"][:2]}),
        ("texture", {"texture": mesh["texture"][0]}),
        ("texture", {"texture": mesh["texture"] + 0.5}),
        ("texture", {"texture": (mesh["texture"] * 255).to(torch.uint8)}),
        ("vertex_mask", {"vertex_mask": mesh["vertex_mask"][:-1]}),
        ("vertex_mask", {"vertex_mask": mesh["vertex_mask"].float()}),
        ("vertex_mask", {"vertex_mask": partial_mask}),
        ("face_uvs_idx", {"face_uvs_idx": mesh["faces"] + v.shape[0]}),
        ("path", {"path": "mesh.stl"}),
        ("path", {"path": "my mesh.obj"}),
        ("path", {"path": 3}),
        (None, {"vertices": nan_unused}),  # unused vertices are dropped, so this is fine
    ]


@pytest.mark.parametrize("case", range(20))
def test_bad_inputs(mesh, tmp_path, case):
    name, override = _bad_cases(mesh)[case]
    kw = {k: mesh[k] for k in ("vertices", "faces", "uvs", "texture", "vertex_mask")}
    kw.update(override)
    path = kw.pop("path", tmp_path / "m.obj")
    if isinstance(path, str):
        path = tmp_path / path
    if name is None:
        export_obj(path, **kw)
        return
    with pytest.raises(ValueError, match=rf"^{name}:"):
        export_obj(path, **kw)
    assert not any(tmp_path.iterdir())


def test_bad_ply_and_glb_inputs(mesh, tmp_path):
    colors = torch.full_like(mesh["vertices"], 0.5)
    with pytest.raises(ValueError, match=r"^vertex_colors:"):
        export_ply(tmp_path / "a", mesh["vertices"], mesh["faces"], colors * 3)
    with pytest.raises(ValueError, match=r"^vertex_colors:"):
        export_ply(tmp_path / "a", mesh["vertices"], mesh["faces"], colors[:, :2])
    with pytest.raises(ValueError, match=r"^path:"):
        export_glb(tmp_path / "a.obj", mesh["vertices"], mesh["faces"], mesh["uvs"], mesh["texture"])
    with pytest.raises(ValueError, match=r"^face_uvs_idx:"):
        export_mesh(tmp_path / "a.ply", mesh["vertices"], mesh["faces"], uvs=mesh["uvs"], texture=mesh["texture"],
                    face_uvs_idx=mesh["faces"].flip(-1))
    assert not any(tmp_path.iterdir())
