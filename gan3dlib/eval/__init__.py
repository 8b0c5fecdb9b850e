"""Evaluation: 3D shape metrics against ground-truth depth maps."""

from __future__ import annotations

from gan3dlib.eval.shape_metrics import DepthMatch, match_depth_maps, pairwise_aligned_depth_error

__all__ = ["DepthMatch", "match_depth_maps", "pairwise_aligned_depth_error"]
