"""Visualisation: Figure-1 sample sheets, latent interpolations (Figure 5), turntables, PNG/GIF output.

Images returned here are float tensors (3, H, W) in [0, 1]; the generators' images are in [-1, 1]
(StyleGAN convention) and are mapped with ``(x + 1) / 2``. Files are written atomically.
"""

from __future__ import annotations

from gan3dlib.viz.plots import line_plot_svg
from gan3dlib.viz.sheets import (
    ViewRenders,
    normal_tile,
    render_mesh,
    render_views,
    sample_sheet,
    save_image,
    to_uint8_hwc,
    to_unit_range,
)
from gan3dlib.viz.video import interpolation_frames, save_gif, save_turntable, save_video, turntable_frames

__all__ = [
    "ViewRenders",
    "normal_tile",
    "render_mesh",
    "render_views",
    "sample_sheet",
    "save_image",
    "to_uint8_hwc",
    "to_unit_range",
    "interpolation_frames",
    "turntable_frames",
    "save_gif",
    "save_video",
    "save_turntable",
    "line_plot_svg",
]
