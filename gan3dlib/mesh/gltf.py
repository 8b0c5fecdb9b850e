"""Binary glTF 2.0 (GLB) encoding of one textured triangle mesh, written with json + struct.

No glTF library is needed at run time; the tests re-import the files with pygltflib and trimesh.
"""

from __future__ import annotations

import json
import struct

import numpy as np

__all__ = ["glb_bytes"]

_GLB_MAGIC, _GLB_JSON, _GLB_BIN = 0x46546C67, 0x4E4F534A, 0x004E4942
_FLOAT, _UINT32 = 5126, 5125  # glTF accessor component types
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def glb_bytes(positions: np.ndarray, nrm: np.ndarray | None, texcoord: np.ndarray, tri: np.ndarray,
               png: bytes, alpha: bool, name: str) -> bytes:
    """Packs one textured triangle mesh into a GLB container.

    Args:
        positions: (V, 3) float32 vertex positions.
        nrm: (V, 3) float32 unit normals, or None.
        texcoord: (V, 2) float32 glTF texture coordinates (origin at the *top*-left: (u, 1 - v)).
        tri: (F, 3) vertex indices, counter-clockwise front faces.
        png: the base-colour texture as PNG bytes (embedded in the binary chunk).
        alpha: the texture has an alpha channel (material ``alphaMode`` BLEND).
        name: node name.

    Returns:
        The GLB file: 12-byte header, space-padded JSON chunk, zero-padded BIN chunk.
    """
    blobs: list[bytes] = []
    views: list[dict] = []
    accessors: list[dict] = []

    def add_view(data: bytes, target: int | None = None) -> int:
        view = {"buffer": 0, "byteOffset": sum(len(b) for b in blobs), "byteLength": len(data)}
        views.append(view if target is None else {**view, "target": target})
        blobs.append(data + b"\x00" * (-len(data) % 4))  # keeps every view 4-byte aligned
        return len(views) - 1

    def add_accessor(array: np.ndarray, kind: str, component: int, target: int) -> int:
        acc = {"bufferView": add_view(array.tobytes(), target), "componentType": component,
               "count": int(array.shape[0]), "type": kind}
        accessors.append(acc)
        return len(accessors) - 1

    attributes = {"POSITION": add_accessor(positions, "VEC3", _FLOAT, _ARRAY_BUFFER)}
    accessors[0].update(min=positions.min(axis=0).tolist(), max=positions.max(axis=0).tolist())
    if nrm is not None:
        attributes["NORMAL"] = add_accessor(nrm, "VEC3", _FLOAT, _ARRAY_BUFFER)
    attributes["TEXCOORD_0"] = add_accessor(texcoord, "VEC2", _FLOAT, _ARRAY_BUFFER)
    indices = add_accessor(tri.reshape(-1).astype("<u4"), "SCALAR", _UINT32, _ELEMENT_ARRAY_BUFFER)
    image_view = add_view(png)
    material = {"name": "material0", "doubleSided": False, "pbrMetallicRoughness": {
        "baseColorTexture": {"index": 0}, "metallicFactor": 0.0, "roughnessFactor": 1.0}}
    if alpha:
        material["alphaMode"] = "BLEND"
    binary = b"".join(blobs)
    gltf = {
        "asset": {"version": "2.0", "generator": "gan3dlib"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": name}],
        "meshes": [{"primitives": [{"attributes": attributes, "indices": indices, "material": 0, "mode": 4}]}],
        "materials": [material], "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}],  # clamp to edge
        "images": [{"bufferView": image_view, "mimeType": "image/png"}],
        "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(binary)}],
    }
    js = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 4)
    return b"".join([struct.pack("<III", _GLB_MAGIC, 2, 12 + 8 + len(js) + 8 + len(binary)),
                     struct.pack("<II", len(js), _GLB_JSON), js, struct.pack("<II", len(binary), _GLB_BIN), binary])
