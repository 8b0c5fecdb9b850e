"""The scene: object mesh, texture and a background cropped behind it (paper §4, §6)."""

from __future__ import annotations

from gan3dlib.scene.background import BackgroundCrop, BackgroundCropConfig, crop_windows
from gan3dlib.scene.generator import SceneConfig, SceneGenerator, SceneOutput

__all__ = ["BackgroundCrop", "BackgroundCropConfig", "crop_windows", "SceneConfig", "SceneGenerator", "SceneOutput"]
