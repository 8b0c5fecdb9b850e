"""The soft-extension renderer: a rasterizer and a shader joined by constructor injection.

``SoftExtensionRenderer(rasterizer, shader)`` mirrors PyTorch3D's ``MeshRenderer``: the rasterizer
(either backend) finds candidates without gradients, the shader recomputes the image with exact
vertex gradients. [`RendererConfig`][gan3dlib.render.renderer.RendererConfig] carries every setting and builds the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import functools

import torch
from torch import nn

from gan3dlib.render.fragments import Fragments, RasterSettings, check_screen_inputs
from gan3dlib.render.raster_pytorch3d import PyTorch3DRasterizer, pytorch3d_available
from gan3dlib.render.raster_torch import TorchRasterizer
from gan3dlib.render.soft_extension import (
    SurfaceCandidates,
    composite_over,
    crisp_layer,
    find_surface_candidates,
    interpolate_face_attributes,
    soft_layer,
    texture_colors,
)
from gan3dlib.utils.checks import check_derived_set, check_positive, check_tensor

__all__ = [
    "render",
    "RenderOutput",
    "SoftExtensionShader",
    "SoftExtensionRenderer",
    "RendererConfig",
    "default_backend",
]

Backend = Literal["auto", "torch", "pytorch3d"]


@dataclass
class RenderOutput:
    """Everything one render produces. Images are NCHW; S = B * H * W.

    Attributes:
        image: (B, C, H, W) composited colour (from the texture), or None without a texture.
        attributes: (B, D, H, W) composited ``face_attrs`` over a zero background, or None.
        normals: (B, 3, H, W) normal map: ``vertex_normals`` interpolated and composited like the
            image over a zero background (unit length on covered pixels up to interpolation), or
            None.
        alpha: (B, 1, H, W) total coverage ``α_s + (1 - α_s) α_c``.
        crisp_alpha: (B, 1, H, W) α_c in {0, 1}.
        soft_alpha: (B, 1, H, W) α_s.
        depth: (B, 1, H, W) crisp depth z_c, 0 on the background.
        face_idx: (B, H, W) int64 per-mesh index of the crisp face, -1 on the background.
        uv: (B, 2, H, W) UVs of the crisp layer (0 on the background), or None.
        fragments: the rasterizer's output.
        candidates: the shader's per-candidate geometry (for inspection and tests).
    """

    image: torch.Tensor | None
    attributes: torch.Tensor | None
    normals: torch.Tensor | None
    alpha: torch.Tensor
    crisp_alpha: torch.Tensor
    soft_alpha: torch.Tensor
    depth: torch.Tensor
    face_idx: torch.Tensor
    uv: torch.Tensor | None
    fragments: Fragments
    candidates: SurfaceCandidates


def _to_nchw(values: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    b, h, w = shape
    return values.reshape(b, h, w, -1).permute(0, 3, 1, 2)


def _background_rows(background: torch.Tensor | None, shape: tuple[int, int, int], channels: int, like: torch.Tensor):
    """Background as (S, C) rows; accepts (B, C, H, W), (C,) or None."""
    if background is None:
        return None
    b, h, w = shape
    if background.dim() == 1:
        check_tensor(background, "background", (channels,), floating=True, finite=True)
        return background.to(like).expand(b * h * w, channels)
    check_tensor(background, "background", (b, channels, h, w), floating=True, finite=True)
    return background.to(like.dtype).permute(0, 2, 3, 1).reshape(b * h * w, channels)


class SoftExtensionShader(nn.Module):
    """Shades fragments with the crisp + soft-extension layers (see [`soft_extension`][gan3dlib.render.soft_extension]).

    The band B and the depth slope λ are read from ``settings``, the rasterizer's own settings
    object, so the two cannot disagree.

    Args:
        settings: the rasterizer's [`RasterSettings`][gan3dlib.render.fragments.RasterSettings]
            (``blur_px``: band width B in pixels; ``depth_slope``: λ in ``z_s = z(p*) (1 + λ d / B)``).
        soft: False gives the paper's CRISP ablation (no soft layer, no silhouette gradients).
        perspective_correct: perspective-correct interpolation.
        align_corners: texture sampling convention (True: PyTorch3D ``TexturesUV``).
    """

    def __init__(
        self,
        settings: RasterSettings,
        soft: bool = True,
        perspective_correct: bool = True,
        align_corners: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(settings, RasterSettings):
            raise ValueError(f"settings: expected the rasterizer's RasterSettings, got {type(settings).__name__}")
        if soft:
            check_positive(settings.blur_px, "settings.blur_px")
        self.settings = settings
        self.soft = soft
        self.perspective_correct = perspective_correct
        self.align_corners = align_corners

    def forward(
        self,
        fragments: Fragments,
        screen_verts: torch.Tensor,
        faces: torch.Tensor,
        *,
        texture: torch.Tensor | None = None,
        face_uvs: torch.Tensor | None = None,
        face_attrs: torch.Tensor | None = None,
        vertex_normals: torch.Tensor | None = None,
        background: torch.Tensor | None = None,
    ) -> RenderOutput:
        """Shades one batch.

        Args:
            fragments: candidates for ``screen_verts`` (B, H, W, K).
            screen_verts: (B, V, 3) screen-space vertices (u, v, depth).
            faces: (F, 3) int64 faces.
            texture: (B, C, Ht, Wt) texture; needs ``face_uvs``.
            face_uvs: (F, 3, 2) or (B, F, 3, 2) per-face-corner UVs (v up).
            face_attrs: (B, F, 3, D) or (F, 3, D) per-face-corner attributes to interpolate
                (e.g. vertex colours).
            vertex_normals: (B, V, 3) per-vertex normals (e.g. ``gan3dlib.ops.vertex_normals`` of
                the rotated vertices) for the ``normals`` map.
            background: (B, C, H, W) image or (C,) colour behind the mesh (zeros if None);
                C matches the texture's channels.

        Returns:
            [`RenderOutput`][gan3dlib.render.renderer.RenderOutput].
        """
        dims: dict[str, int] = {}
        check_tensor(screen_verts, "screen_verts", ("B", "V", 3), floating=True, dims=dims)
        num_faces = faces.shape[0] if isinstance(faces, torch.Tensor) else None
        if texture is not None:
            check_tensor(texture, "texture", ("B", None, None, None), floating=True, finite=True, dims=dims)
            if face_uvs is None:
                raise ValueError("face_uvs: required with a texture, expected (F, 3, 2) or (B, F, 3, 2), got None")
        if face_uvs is not None:
            shape = (num_faces, 3, 2) if face_uvs.dim() == 3 else ("B", num_faces, 3, 2)
            check_tensor(face_uvs, "face_uvs", shape, floating=True, finite=True, dims=dims)
        if face_attrs is not None:
            shape = (num_faces, 3, None) if face_attrs.dim() == 3 else ("B", num_faces, 3, None)
            check_tensor(face_attrs, "face_attrs", shape, floating=True, finite=True, dims=dims)
        if vertex_normals is not None:
            check_tensor(vertex_normals, "vertex_normals", ("B", "V", 3), floating=True, finite=True, dims=dims)

        candidates = find_surface_candidates(
            fragments,
            screen_verts,
            faces,
            blur_px=self.settings.blur_px,
            depth_slope=self.settings.depth_slope,
            soft=self.soft,
            perspective_correct_bary=self.perspective_correct,
        )
        shape = candidates.image_shape
        needed = torch.nonzero(candidates.crisp | candidates.counted).squeeze(-1)

        def composite(values: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
            """Crisp and soft layers of the candidates' values, composited, as NCHW."""
            layers = crisp_layer(candidates, values, needed), soft_layer(candidates, values, needed)
            return _to_nchw(composite_over(candidates, *layers, rows), shape)

        image = uv_map = attributes = normals = None
        if texture is not None:
            uv, colors = texture_colors(candidates, face_uvs, texture, needed, self.align_corners)
            image = composite(colors, _background_rows(background, shape, texture.shape[1], colors))
            uv_map = _to_nchw(crisp_layer(candidates, uv, needed), shape)
        if face_attrs is not None:
            attributes = composite(interpolate_face_attributes(candidates, face_attrs, needed))
        if vertex_normals is not None:
            normals = composite(interpolate_face_attributes(candidates, vertex_normals[:, faces], needed))

        alpha_c, alpha_s = candidates.crisp_alpha, candidates.soft_alpha
        face_idx = torch.full((candidates.num_pixels,), -1, dtype=torch.long, device=alpha_c.device)
        face_idx[candidates.pixel[candidates.crisp]] = candidates.face[candidates.crisp]
        b, h, w = shape
        return RenderOutput(
            image=image,
            attributes=attributes,
            normals=normals,
            alpha=(alpha_s + (1 - alpha_s) * alpha_c).view(b, 1, h, w),
            crisp_alpha=alpha_c.view(b, 1, h, w),
            soft_alpha=alpha_s.view(b, 1, h, w),
            depth=candidates.crisp_depth.view(b, 1, h, w),
            face_idx=face_idx.view(b, h, w),
            uv=uv_map,
            fragments=fragments,
            candidates=candidates,
        )


class SoftExtensionRenderer(nn.Module):
    """Rasterizer + shader, PyTorch3D ``MeshRenderer`` style.

    Args:
        rasterizer: a module ``(screen_verts (B, V, 3), faces (F, 3)) -> Fragments`` such as
            [`TorchRasterizer`][gan3dlib.render.raster_torch.TorchRasterizer] or
            [`PyTorch3DRasterizer`][gan3dlib.render.raster_pytorch3d.PyTorch3DRasterizer].
        shader: a [`SoftExtensionShader`][gan3dlib.render.renderer.SoftExtensionShader].
    """

    def __init__(self, rasterizer: nn.Module, shader: SoftExtensionShader) -> None:
        super().__init__()
        settings = getattr(rasterizer, "settings", None)
        ours = shader.settings
        if settings is not None and shader.soft and (settings.blur_px, settings.depth_slope) != (
                ours.blur_px, ours.depth_slope):
            raise ValueError(
                f"shader: its band and depth slope ({ours.blur_px}, {ours.depth_slope}) must be the rasterizer's "
                f"({settings.blur_px}, {settings.depth_slope}); give both the same RasterSettings")
        self.rasterizer = rasterizer
        self.shader = shader

    def forward(self, screen_verts: torch.Tensor, faces: torch.Tensor, **shader_kwargs) -> RenderOutput:
        """Renders screen-space meshes.

        Args:
            screen_verts: (B, V, 3) vertices (u, v, depth) in pixels (see
                [`gan3dlib.render.camera.PerspectiveCamera.project`][gan3dlib.render.camera.PerspectiveCamera.project]).
            faces: (F, 3) int64 faces shared by the batch.
            **shader_kwargs: ``texture``, ``face_uvs``, ``face_attrs``, ``vertex_normals``,
                ``background`` as in
                [`SoftExtensionShader.forward`][gan3dlib.render.renderer.SoftExtensionShader.forward].

        Returns:
            [`RenderOutput`][gan3dlib.render.renderer.RenderOutput].
        """
        screen_verts, faces = check_screen_inputs(screen_verts, faces)
        fragments = self.rasterizer(screen_verts.detach(), faces)
        return self.shader(fragments, screen_verts, faces, **shader_kwargs)


def make_rasterizer(backend: str, device: torch.device | str, settings: RasterSettings) -> nn.Module:
    """The rasterizer of ``backend`` (``'auto'``: [`default_backend`][gan3dlib.render.renderer.default_backend] of ``device``)."""
    name = default_backend(device) if backend == "auto" else backend
    if name not in ("torch", "pytorch3d"):
        raise ValueError(f"backend: expected 'auto', 'torch' or 'pytorch3d', got {backend!r}")
    return TorchRasterizer(settings) if name == "torch" else PyTorch3DRasterizer(settings)


def default_backend(device: torch.device | str) -> str:
    """The rasterizer backend ``'auto'`` resolves to on ``device``.

    CPU: ``'torch'`` (measured: see ``benchmarks/bench_render.py``; PyTorch3D's CPU rasterizer
    tests every face against every pixel). CUDA: ``'pytorch3d'`` when its extension loads (binned
    rasterization), else ``'torch'``.
    """
    if torch.device(device).type == "cuda" and pytorch3d_available():
        return "pytorch3d"
    return "torch"


@dataclass(frozen=True)
class RendererConfig:
    """Settings of the soft-extension renderer; [`build`][gan3dlib.render.renderer.RendererConfig.build] makes the module.

    Attributes:
        image_size: (H, W) in pixels; None inside a [`SceneConfig`][gan3dlib.scene.SceneConfig], which sets
            it from its ``resolution``.
        blur_px: soft extension band B in pixels (paper default 1).
        faces_per_pixel: K candidates per pixel; None (default) keeps all that matter with the
            torch backend and 32 with the pytorch3d backend (see ``RasterSettings``).
        depth_slope: λ_slope of the extension depth (0.5 as in the authors' renderer).
        mode: ``'soft'`` (the paper's renderer) or ``'crisp'`` (its CRISP ablation).
        backend: ``'auto'``, ``'torch'`` or ``'pytorch3d'`` rasterizer.
        perspective_correct: perspective-correct interpolation.
        cull_backfaces: skip faces clockwise in the image.
        align_corners: texture sampling convention.
        max_pairs_per_chunk: memory bound of the torch backend.
    """

    image_size: tuple[int, int] | None = (128, 128)
    blur_px: float = 1.0
    faces_per_pixel: int | None = None
    depth_slope: float = 0.5
    mode: Literal["soft", "crisp"] = "soft"
    backend: Backend = "auto"
    perspective_correct: bool = True
    cull_backfaces: bool = False
    align_corners: bool = True
    max_pairs_per_chunk: int = 1 << 21

    def __post_init__(self) -> None:
        if self.mode not in ("soft", "crisp"):
            raise ValueError(f"mode: expected 'soft' or 'crisp', got {self.mode!r}")
        if self.backend not in ("auto", "torch", "pytorch3d"):
            raise ValueError(f"backend: expected 'auto', 'torch' or 'pytorch3d', got {self.backend!r}")
        check_positive(self.blur_px, "blur_px")
        # Validates faces_per_pixel and max_pairs_per_chunk, and image_size unless a scene derives it.
        self._raster_settings((1, 1) if self.image_size is None else self.image_size)

    def raster_settings(self) -> RasterSettings:
        """The rasterizer's settings (band 0 in crisp mode: only covering faces are needed)."""
        check_derived_set(self.image_size, "image_size")
        return self._raster_settings(self.image_size)

    def _raster_settings(self, image_size: tuple[int, int]) -> RasterSettings:
        return RasterSettings(
            image_size=tuple(image_size),
            blur_px=self.blur_px if self.mode == "soft" else 0.0,
            faces_per_pixel=self.faces_per_pixel,
            perspective_correct=self.perspective_correct,
            cull_backfaces=self.cull_backfaces,
            depth_slope=self.depth_slope,
            max_pairs_per_chunk=self.max_pairs_per_chunk,
        )

    def build(self, device: torch.device | str = "cpu") -> SoftExtensionRenderer:
        """Builds the renderer, resolving ``backend='auto'`` for ``device``."""
        settings = self.raster_settings()
        rasterizer = make_rasterizer(self.backend, device, settings)
        shader = SoftExtensionShader(
            settings,
            soft=self.mode == "soft",
            perspective_correct=self.perspective_correct,
            align_corners=self.align_corners,
        )
        return SoftExtensionRenderer(rasterizer, shader)


@functools.lru_cache(maxsize=16)
def _cached_renderer(config: RendererConfig, device: str) -> SoftExtensionRenderer:
    return config.build(device)


def render(
    screen_verts: torch.Tensor, faces: torch.Tensor, config: RendererConfig | None = None, **shader_kwargs
) -> RenderOutput:
    """Functional form of the renderer: ``config.build(device)(screen_verts, faces, ...)``.

    The renderer has no parameters or state, so built renderers are cached per (config, device).

    Args:
        screen_verts: (B, V, 3) screen-space vertices (u, v, depth) in pixels.
        faces: (F, 3) int64 faces shared by the batch.
        config: renderer settings (defaults if None; ``image_size`` must match the intended image).
        **shader_kwargs: ``texture``, ``face_uvs``, ``face_attrs``, ``vertex_normals``,
            ``background`` as in [`SoftExtensionShader.forward`][gan3dlib.render.renderer.SoftExtensionShader.forward].

    Returns:
        [`RenderOutput`][gan3dlib.render.renderer.RenderOutput].
    """
    renderer = _cached_renderer(config or RendererConfig(), str(screen_verts.device))
    return renderer(screen_verts, faces, **shader_kwargs)
