"""How the synthetic scenes are drawn: PyTorch3D's standard renderer, never gan3dlib's own.

Images come from PyTorch3D's ``MeshRasterizer`` + ``HardPhongShader`` (ambient light plus one
directional light fixed in the camera frame, or flat ambient colours), rasterised at ``supersample``
times the resolution and box-filtered, then composited over the background; so the data do not come
from the renderer being trained. Depth maps are one sample at each pixel centre: the camera depth
``-z_view`` of the nearest surface (the rasteriser's perspective-correct z-buffer), 0 on the
background. Where PyTorch3D is not installed (a GPU machine without its wheel), depth maps come from
gan3dlib's own crisp depth, which agrees with PyTorch3D's to float precision (tested); images need
PyTorch3D.

PyTorch3D's CPU rasteriser tests every face at every pixel, so faces turned away from the camera are
dropped before rasterising (exact: the meshes are closed, so the first surface a ray meets always
faces it); shading still uses the full mesh's vertex normals. A 1e-12 blur radius closes the
triangles: PyTorch3D's strict inside test leaves pixel centres that lie exactly on a shared edge
uncovered (cracks along the symmetric grids' diagonals at yaw 0).

``config`` below is a [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig] (its camera, lighting
and supersampling fields); ``faces`` and ``uvs`` the shared topology's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gan3dlib.render.camera import PerspectiveCamera
from gan3dlib.render.raster_pytorch3d import pytorch3d_available
from gan3dlib.render.renderer import RendererConfig

__all__ = ["render_images", "depth_maps"]


def _front_faces(config: Any, faces: torch.Tensor, vertices: torch.Tensor, rotation: torch.Tensor) -> list[torch.Tensor]:
    """Per mesh, the faces that face the camera (the others are never seen on a closed mesh)."""
    corners = vertices[:, faces]  # (B, F, 3, 3)
    normals = torch.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0], dim=-1)
    eye = config.camera.distance * rotation[:, 2, :]  # camera position in object space, R^T (0, 0, d)
    facing = (normals * (eye[:, None] - corners[:, :, 0])).sum(-1) > 0
    return [faces[keep] for keep in facing]


def _meshes(config: Any, faces: torch.Tensor, uvs: torch.Tensor, vertices: torch.Tensor, rotation: torch.Tensor,
            textures: torch.Tensor | None = None) -> Any:
    from pytorch3d.renderer import TexturesUV
    from pytorch3d.structures import Meshes

    batch = vertices.shape[0]
    normals = Meshes(verts=vertices, faces=faces.expand(batch, -1, -1)).verts_normals_padded()
    front = _front_faces(config, faces, vertices, rotation)
    maps = None
    if textures is not None:
        maps = TexturesUV(maps=textures.permute(0, 2, 3, 1), faces_uvs=front,
                          verts_uvs=list(uvs.expand(batch, -1, -1)), align_corners=True)
    return Meshes(verts=list(vertices), faces=front, textures=maps, verts_normals=list(normals))


def _rasterize(meshes: Any, cameras: Any, size: int) -> Any:
    from pytorch3d.renderer import MeshRasterizer, RasterizationSettings

    settings = RasterizationSettings(image_size=size, blur_radius=1e-12, faces_per_pixel=1, bin_size=0)
    return MeshRasterizer(cameras=cameras, raster_settings=settings)(meshes)


def _lights(config: Any, rotation: torch.Tensor, toward: torch.Tensor) -> Any:
    from pytorch3d.renderer import AmbientLights, DirectionalLights

    ambient = torch.full((rotation.shape[0], 3), config.ambient)
    if config.lighting == "ambient":
        return AmbientLights(ambient_color=ambient)
    # PyTorch3D's world frame is our object frame: turn the camera-frame light by R^T.
    direction = (rotation.transpose(1, 2) @ toward[..., None])[..., 0]
    return DirectionalLights(ambient_color=ambient, diffuse_color=torch.full_like(ambient, config.diffuse),
                             specular_color=torch.full_like(ambient, config.specular), direction=direction)


def render_images(config: Any, faces: torch.Tensor, uvs: torch.Tensor, vertices: torch.Tensor, rotation: torch.Tensor,
                  textures: torch.Tensor, lights: torch.Tensor, backgrounds: torch.Tensor) -> torch.Tensor:
    """Shaded, antialiased images of textured meshes over their backgrounds.

    Args:
        config: the dataset config.
        faces: (F, 3) int64 topology faces.
        uvs: (V, 2) per-vertex UVs.
        vertices: (B, V, 3) object-space vertices.
        rotation: (B, 3, 3) viewpoints.
        textures: (B, 3, T, T) in [0, 1].
        lights: (B, 3) directions towards the light in the camera frame.
        backgrounds: (B, 3, R, R) in [0, 1].

    Returns:
        (B, 3, R, R) float32 images in [0, 1].
    """
    from pytorch3d.renderer import HardPhongShader, Materials

    size, ss = config.resolution, config.supersample
    meshes = _meshes(config, faces, uvs, vertices, rotation, textures)
    cameras = PerspectiveCamera((size * ss,) * 2, config.fov_degrees).to_pytorch3d(rotation)
    fragments = _rasterize(meshes, cameras, size * ss)
    shader = HardPhongShader(cameras=cameras, lights=_lights(config, rotation, lights),
                             materials=Materials(shininess=config.shininess))
    shaded = shader(fragments, meshes)  # (B, sR, sR, 4)
    covered = (fragments.pix_to_face[..., 0] >= 0).to(torch.float32)[:, None]  # (B, 1, sR, sR)
    colour = F.avg_pool2d(shaded[..., :3].permute(0, 3, 1, 2).clamp(0, 1) * covered, ss)
    coverage = F.avg_pool2d(covered, ss)
    return (colour + (1 - coverage) * backgrounds).clamp(0, 1).contiguous()


def depth_maps(config: Any, faces: torch.Tensor, vertices: torch.Tensor, rotation: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, size, size) float32 camera depth of closed meshes at the pixel centres (0 = background).

    Args:
        config: the dataset config (its field of view).
        faces: (F, 3) topology faces, outward-oriented.
        vertices: (B, V, 3) object-space vertices.
        rotation: (B, 3, 3) viewpoints.
        size: image side.
    """
    camera = PerspectiveCamera((size, size), config.fov_degrees)
    if not pytorch3d_available():
        renderer = RendererConfig(image_size=(size, size), backend="torch").build("cpu")
        return renderer(camera.project(vertices, rotation), faces).depth
    fragments = _rasterize(_meshes(config, faces, faces.new_zeros(0), vertices, rotation), camera.to_pytorch3d(rotation), size)
    hit = fragments.pix_to_face[..., :1] >= 0
    return torch.where(hit, fragments.zbuf[..., :1], 0.0).permute(0, 3, 1, 2).contiguous()
