"""Bilinear UV texture sampling at scattered points.

The shader samples textures only where a layer needs a colour (one point per covered pixel for
the crisp layer, one per counted candidate for the soft layer), so sampling works on flat lists
of (image index, uv) rather than on dense grids. It reproduces ``F.grid_sample`` (bilinear, border
padding) with PyTorch3D's ``TexturesUV`` UV convention: u right, v up.
"""

from __future__ import annotations

import torch

from gan3dlib.utils.checks import check_tensor

__all__ = ["sample_texture", "uv_to_texel"]


def uv_to_texel(uv: torch.Tensor, size: tuple[int, int], align_corners: bool = True) -> torch.Tensor:
    """Maps UV coordinates to continuous texel coordinates (x = column, y = row).

    Args:
        uv: (..., 2) coordinates, u right and v up, [0, 1] spanning the texture.
        size: (Ht, Wt) of the texture.
        align_corners: if True, uv 0 and 1 hit the centres of the corner texels (PyTorch3D's
            ``TexturesUV`` default); if False, the outer edges of the corner texels (Kaolin's
            ``texture_mapping``).

    Returns:
        (..., 2) texel coordinates (x, y), row 0 at the top, clamped to the texture (border
        padding).
    """
    height, width = size
    u, v = uv[..., 0], 1.0 - uv[..., 1]
    if align_corners:
        x, y = u * (width - 1), v * (height - 1)
    else:
        x, y = u * width - 0.5, v * height - 0.5
    return torch.stack([x.clamp(0, width - 1), y.clamp(0, height - 1)], dim=-1)


def sample_texture(
    texture: torch.Tensor,
    uv: torch.Tensor,
    batch_index: torch.Tensor,
    align_corners: bool = True,
) -> torch.Tensor:
    """Samples ``texture[batch_index[p]]`` at ``uv[p]`` bilinearly, for every point p.

    Differentiable with respect to the texture and the UVs (equal to ``F.grid_sample`` with
    ``mode='bilinear', padding_mode='border'`` and the grid ``(2u - 1, 1 - 2v)``).

    Args:
        texture: (B, C, Ht, Wt) texture images, row 0 at the top (v = 1).
        uv: (P, 2) UV coordinates.
        batch_index: (P,) int64 index of the texture each point samples.
        align_corners: see [`uv_to_texel`][gan3dlib.render.texture.uv_to_texel].

    Returns:
        (P, C) sampled values.
    """
    check_tensor(texture, "texture", (None, None, None, None), floating=True)
    check_tensor(uv, "uv", (None, 2), floating=True)
    check_tensor(batch_index, "batch_index", (uv.shape[0],), dtypes=(torch.int64,))
    batch, channels, height, width = texture.shape
    xy = uv_to_texel(uv.to(texture.dtype), (height, width), align_corners)
    x0 = xy[:, 0].detach().floor().clamp(max=max(width - 2, 0))
    y0 = xy[:, 1].detach().floor().clamp(max=max(height - 2, 0))
    wx = (xy[:, 0] - x0).unsqueeze(-1)
    wy = (xy[:, 1] - y0).unsqueeze(-1)
    x0, y0 = x0.long(), y0.long()
    x1 = (x0 + 1).clamp(max=width - 1)
    y1 = (y0 + 1).clamp(max=height - 1)
    texels = texture.permute(0, 2, 3, 1).reshape(batch * height * width, channels)
    row0 = (batch_index * height + y0) * width
    row1 = (batch_index * height + y1) * width
    top = texels[row0 + x0] * (1 - wx) + texels[row0 + x1] * wx
    bottom = texels[row1 + x0] * (1 - wx) + texels[row1 + x1] * wx
    return top * (1 - wy) + bottom * wy
