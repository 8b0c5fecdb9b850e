"""Evaluation: 3D shape metrics against ground truth (depth maps, point clouds) and image metrics."""

from __future__ import annotations

from gan3dlib.eval.image_metrics import (
    FeatureStats,
    InceptionFeatures,
    RandomProjectionFeatures,
    compute_fid_kid,
    frechet_distance,
    kernel_inception_distance,
)
from gan3dlib.eval.point_metrics import chamfer_distance_matrix, coverage_and_mmd, sample_surface_points
from gan3dlib.eval.shape_metrics import DepthMatch, match_depth_maps, pairwise_aligned_depth_error

__all__ = [
    "DepthMatch",
    "match_depth_maps",
    "pairwise_aligned_depth_error",
    "FeatureStats",
    "InceptionFeatures",
    "RandomProjectionFeatures",
    "compute_fid_kid",
    "frechet_distance",
    "kernel_inception_distance",
    "chamfer_distance_matrix",
    "coverage_and_mmd",
    "sample_surface_points",
]
