"""Training data: photo collections (image folders and StyleGAN zip archives) and the procedural
ground-truth 3D dataset (rendered with PyTorch3D, imported lazily from gan3dlib.data.synthetic)."""

from gan3dlib.data.images import ImageDataset, ImageDatasetConfig, infinite_loader, load_image

__all__ = ["ImageDataset", "ImageDatasetConfig", "infinite_loader", "load_image"]
