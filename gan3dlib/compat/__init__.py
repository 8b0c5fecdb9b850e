"""Interop with other 3D libraries, laid out like the libraries it imitates.

- [`gan3dlib.compat.kaolin`][gan3dlib.compat.kaolin]: Kaolin's rasterization, DIB-R, texture and
  camera functions (same names, signatures and tensor layouts) on gan3dlib's renderer; Kaolin
  itself is never imported.
- [`gan3dlib.compat.pytorch3d`][gan3dlib.compat.pytorch3d]: renders PyTorch3D ``Meshes`` seen by
  PyTorch3D cameras with the soft-extension renderer; PyTorch3D is imported only by the caller.

Importing this package imports neither library.
"""
