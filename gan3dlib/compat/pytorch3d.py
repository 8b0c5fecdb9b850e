"""Render PyTorch3D ``Meshes`` seen by PyTorch3D cameras with the soft-extension renderer.

PyTorch3D is imported only by the caller (who already has ``Meshes``); this module touches no
compiled code: it reads padded tensors and calls the cameras' pure-python transforms.
"""

from __future__ import annotations

from typing import Any

import torch

from gan3dlib.render.renderer import RenderOutput, SoftExtensionRenderer

__all__ = ["meshes_to_screen", "render_meshes"]


def meshes_to_screen(meshes: Any, cameras: Any, image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Projects a batch of PyTorch3D meshes that share one topology to screen space.

    Args:
        meshes: ``pytorch3d.structures.Meshes`` with B meshes of identical faces.
        cameras: PyTorch3D cameras (batch 1 or B) whose NDC follows PyTorch3D's convention.
        image_size: (H, W).

    Returns:
        screen_verts: (B, V, 3) (u, v, depth) in pixels, depth = the cameras' view-space z.
        faces: (F, 3) int64.

    Raises:
        ValueError: if the meshes do not share one topology.
    """
    faces = meshes.faces_padded()
    if not bool((faces == faces[:1]).all()) or len(set(meshes.num_verts_per_mesh().tolist())) != 1:
        raise ValueError("meshes: expected a batch of meshes sharing one topology (same vertex count and faces)")
    verts = meshes.verts_padded()
    depth = cameras.get_world_to_view_transform().transform_points(verts)[..., 2]
    ndc = cameras.transform_points_ndc(verts)
    H, W = image_size
    s = float(min(H, W))
    u = (W - s * ndc[..., 0]) / 2.0
    v = (H - s * ndc[..., 1]) / 2.0
    return torch.stack([u, v, depth], dim=-1), faces[0]


def render_meshes(
    renderer: SoftExtensionRenderer,
    meshes: Any,
    cameras: Any,
    background: torch.Tensor | None = None,
) -> RenderOutput:
    """Renders PyTorch3D ``Meshes`` (with ``TexturesUV`` or without textures).

    Args:
        renderer: a [`SoftExtensionRenderer`][gan3dlib.render.renderer.SoftExtensionRenderer]; its image size is
            the rasterizer's ``settings.image_size``.
        meshes: B meshes sharing one topology, optionally with ``TexturesUV`` (one map per mesh).
        cameras: PyTorch3D cameras.
        background: (B, C, H, W) or (C,) or None.

    Returns:
        [`RenderOutput`][gan3dlib.render.renderer.RenderOutput]; ``image`` is set when the meshes carry
        ``TexturesUV``.
    """
    image_size = renderer.rasterizer.settings.image_size
    screen_verts, faces = meshes_to_screen(meshes, cameras, image_size)
    kwargs: dict[str, Any] = {"background": background}
    textures = meshes.textures
    if textures is not None:
        if type(textures).__name__ != "TexturesUV":
            raise ValueError(f"meshes.textures: expected TexturesUV or None, got {type(textures).__name__}")
        maps = textures.maps_padded().permute(0, 3, 1, 2)  # (B, C, Ht, Wt)
        verts_uvs = textures.verts_uvs_padded()  # (B, U, 2)
        faces_uvs = textures.faces_uvs_padded()  # (B, F, 3)
        batch = torch.arange(verts_uvs.shape[0], device=verts_uvs.device).view(-1, 1, 1)
        kwargs["texture"] = maps
        kwargs["face_uvs"] = verts_uvs[batch, faces_uvs]  # (B, F, 3, 2)
        if textures.align_corners != renderer.shader.align_corners:
            raise ValueError(
                f"meshes.textures: align_corners={textures.align_corners} differs from the shader's "
                f"align_corners={renderer.shader.align_corners}"
            )
    return renderer(screen_verts, faces, **kwargs)
