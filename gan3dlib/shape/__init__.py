"""Shape parametrisations of the object generator (paper §7): pyramid, size constraint, assembly."""

from __future__ import annotations

from gan3dlib.shape.object_shape import ObjectShape, ObjectShapeConfig
from gan3dlib.shape.pyramid import GaussianBlur, ShapePyramid, ShapePyramidConfig, gaussian_kernel1d
from gan3dlib.shape.size_constraint import SizeConstraint, SizeConstraintConfig, size_constraint

__all__ = [
    "ObjectShape",
    "ObjectShapeConfig",
    "GaussianBlur",
    "ShapePyramid",
    "ShapePyramidConfig",
    "gaussian_kernel1d",
    "SizeConstraint",
    "SizeConstraintConfig",
    "size_constraint",
]
