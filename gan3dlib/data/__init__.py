"""Training data: photo collections (image folders and StyleGAN zip archives)."""

from gan3dlib.data.images import ImageDataset, ImageDatasetConfig, infinite_loader, load_image

# synthetic datasets: gan3dlib.data.synthetic

__all__ = ["ImageDataset", "ImageDatasetConfig", "infinite_loader", "load_image"]
