"""Silhouette fitting: the soft extension's band gradients deform a sphere onto a target outline.

A crisp rasterizer gives no gradient at silhouettes, so the same optimisation does not move.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
from gan3dlib.render import PerspectiveCamera, RendererConfig


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum())


def fit_silhouette(mode: str, steps: int = 80) -> tuple[float, float]:
    n, size = 16, (32, 32)
    grid = build_mesh_grid(n)
    camera = PerspectiveCamera(image_size=size)
    s0 = sphere_shape_image(n, 0.5).unsqueeze(0)
    # Target: an ellipsoid, wider and flatter than the sphere and off-centre.
    target_verts = grid.shape_image_to_vertices(s0) * torch.tensor([1.5, 0.8, 1.0]) + torch.tensor([0.25, 0.15, 0.0])
    judge = RendererConfig(image_size=size).build()
    target = judge(camera.project(target_verts), grid.faces).alpha.detach()

    renderer = RendererConfig(image_size=size, mode=mode).build()
    # A smooth deformation: a coarse 4x4 offset image upsampled onto the shape image.
    coarse = torch.zeros(1, 3, 4, 4, requires_grad=True)
    optimizer = torch.optim.Adam([coarse], lr=0.05)

    def vertices() -> torch.Tensor:
        offset = F.interpolate(coarse, size=(n, n), mode="bilinear", align_corners=True)
        return grid.shape_image_to_vertices(s0 + offset)

    initial = mask_iou(judge(camera.project(vertices()), grid.faces).alpha, target)
    for _ in range(steps):
        loss = ((renderer(camera.project(vertices()), grid.faces).alpha - target) ** 2).mean()
        optimizer.zero_grad()
        if loss.requires_grad:  # crisp alpha does not depend on the vertices at all
            loss.backward()
            optimizer.step()
    final = mask_iou(judge(camera.project(vertices()), grid.faces).alpha.detach(), target)
    return initial, final


def test_soft_renderer_fits_a_silhouette_and_crisp_does_not():
    initial, soft = fit_silhouette("soft")
    _, crisp = fit_silhouette("crisp")
    assert initial < 0.6
    assert soft > 0.95
    assert crisp < soft - 0.3
