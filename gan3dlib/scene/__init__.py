"""The scene: object mesh, texture and a background cropped behind it (paper §4, §6)."""

from __future__ import annotations

from gan3dlib.scene.background import BackgroundCrop, BackgroundCropConfig, crop_windows

__all__ = ["BackgroundCrop", "BackgroundCropConfig", "crop_windows"]
