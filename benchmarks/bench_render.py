"""Renderer benchmark: soft-extension renderer vs PyTorch3D's crisp and soft pipelines.

Every number in the printed table is measured in this one run on this machine. Each measurement
runs in a fresh subprocess so that peak memory (``ru_maxrss`` growth over the set-up state) is
not polluted by earlier runs.

Usage::

    python benchmarks/bench_render.py                  # batch 8, 128x128, 64 and 128 grids
    python benchmarks/bench_render.py --grids 64 --repeats 3

Rows (forward + backward of ``image.sum()`` w.r.t. vertices and texture):

- ``ours/torch``: soft-extension renderer, face-major torch rasterizer backend.
- ``ours/pytorch3d``: soft-extension renderer, PyTorch3D ``rasterize_meshes`` backend.
- ``p3d crisp K=1``: PyTorch3D ``MeshRasterizer`` + ``TexturesUV`` sampling, K=1, baseline (a).
- ``p3d soft K``: PyTorch3D rasterization with the same band and K, ``TexturesUV`` sampling and
  ``softmax_rgb_blend`` (sigmoid over ``dists``), baseline (b).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import torch

from gan3dlib.mesh import build_mesh_grid
from gan3dlib.render import PerspectiveCamera, RendererConfig, ViewpointSampler

METHODS = ("ours/torch", "ours/pytorch3d", "p3d crisp K=1", "p3d soft K")


def make_scene(grid_size: int, batch: int, image_size: int, seed: int = 0):
    """A textured full-square grid sheet (2 (N-1)² faces) seen from FFHQ-like viewpoints.

    Returns (screen_verts (B, V, 3), world_verts (B, V, 3), faces (F, 3), face_uvs (F, 3, 2),
    texture (B, 3, 2N, 2N), background (B, 3, H, W), camera, grid).
    """
    g = torch.Generator().manual_seed(seed)
    grid = build_mesh_grid(grid_size, radius=2.0)  # radius > sqrt(2): keep the whole square
    xy = grid.grid_xy * 0.7
    bump = 0.15 * torch.cos(xy[:, :1] * 3) * torch.cos(xy[:, 1:] * 3)
    verts = torch.cat([xy, bump], -1).expand(batch, -1, -1).contiguous()
    camera = PerspectiveCamera(image_size=(image_size, image_size))
    rotation = ViewpointSampler().sample_rotations(batch, generator=g)
    world = torch.einsum("bij,bvj->bvi", rotation, verts)
    screen = camera.project(world)
    texture = torch.rand(batch, 3, 2 * grid_size, 2 * grid_size, generator=g)
    background = torch.rand(batch, 3, image_size, image_size, generator=g)
    return screen, world, grid.faces, grid.face_uvs, texture, background, camera, grid


def run_ours(backend: str, scene, blur: float, k: int | None):
    screen, _, faces, face_uvs, texture, background, camera, _ = scene
    renderer = RendererConfig(image_size=camera.image_size, blur_px=blur, faces_per_pixel=k, backend=backend).build()

    def step():
        verts = screen.clone().requires_grad_(True)
        tex = texture.clone().requires_grad_(True)
        out = renderer(verts, faces, texture=tex, face_uvs=face_uvs, background=background)
        out.image.sum().backward()
        step.k = out.fragments.pix_to_face.shape[-1]
        return out.image.detach()

    return step


def run_pytorch3d(scene, blur: float, k: int, soft: bool):
    from pytorch3d.renderer import BlendParams, MeshRasterizer, RasterizationSettings, TexturesUV
    from pytorch3d.renderer.blending import softmax_rgb_blend
    from pytorch3d.structures import Meshes

    _, world, faces, _, texture, background, camera, grid = scene
    batch = world.shape[0]
    cameras = camera.to_pytorch3d()
    size = camera.image_size
    blur_radius = (2 * blur / min(size)) ** 2 if soft else 0.0
    settings = RasterizationSettings(image_size=size, blur_radius=blur_radius, faces_per_pixel=k if soft else 1)
    rasterizer = MeshRasterizer(cameras=cameras, raster_settings=settings)
    # SoftRas rule from PyTorch3D's docs: blur_radius = ln(1/1e-4 - 1) * sigma.
    params = BlendParams(sigma=max(blur_radius, 1e-12) / math.log(1 / 1e-4 - 1), gamma=1e-4)

    def step():
        verts = world.clone().requires_grad_(True)
        maps = texture.permute(0, 2, 3, 1).clone().requires_grad_(True)
        textures = TexturesUV(maps=maps, faces_uvs=[grid.face_uvs_idx] * batch, verts_uvs=[grid.uvs] * batch)
        meshes = Meshes(verts=list(verts), faces=[faces] * batch, textures=textures)
        fragments = rasterizer(meshes)
        texels = meshes.sample_textures(fragments)
        if soft:
            image = softmax_rgb_blend(texels, fragments, params, znear=cameras.znear, zfar=cameras.zfar)[..., :3]
        else:
            image = texels[..., 0, :]
        image.sum().backward()
        return image.detach()

    return step


def measure(method: str, grid_size: int, batch: int, image_size: int, blur: float, k: int, repeats: int) -> dict:
    """Times one method (fresh process): median seconds of forward+backward and peak memory.

    Our renderer runs with its default K (None: every candidate that matters with the torch
    backend, 32 with the pytorch3d backend); the PyTorch3D soft baseline uses ``k``.
    """
    scene = make_scene(grid_size, batch, image_size)
    if method.startswith("ours/"):
        step = run_ours(method.split("/")[1], scene, blur, None)
    else:
        step = run_pytorch3d(scene, blur, k, soft=method == "p3d soft K")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    image = step()  # warm-up (also the peak-memory measurement)
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    result = {"seconds": times[len(times) // 2], "peak_mib": peak_mib, "faces": int(scene[2].shape[0])}
    result["k"] = getattr(step, "k", k if method == "p3d soft K" else 1)
    if method == "ours/pytorch3d":
        other = run_ours("torch", scene, blur, None)()
        result["max_abs_diff_vs_torch_backend"] = float((image - other).abs().max())
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[64, 128], help="shape-image sizes N")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--blur", type=float, default=1.0, help="band B in pixels")
    parser.add_argument("--k", type=int, default=8, help="faces per pixel of the PyTorch3D soft baseline")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of our renderer (median)")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="timed runs of the PyTorch3D baselines")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        method, grid_size = json.loads(args.worker)
        repeats = args.repeats if method.startswith("ours/") else args.baseline_repeats
        print(json.dumps(measure(method, grid_size, args.batch, args.image_size, args.blur, args.k, repeats)))
        return

    print(f"# batch {args.batch}, {args.image_size}x{args.image_size}, B={args.blur} px, K={args.k}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; forward+backward")
    print("| mesh | faces | method | K | time (s) | peak mem (MiB) | speed-up vs (a) | speed-up vs (b) |")
    print("|---|---|---|---|---|---|---|---|")
    for grid_size in args.grids:
        results = {}
        for method in args.methods:
            worker_args = [*sys.argv[1:], "--worker", json.dumps([method, grid_size])] if argv is None else [
                *argv, "--worker", json.dumps([method, grid_size])]
            proc = subprocess.run([sys.executable, __file__, *worker_args], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"| {grid_size}x{grid_size} | | {method} | | failed: {proc.stderr.strip().splitlines()[-1]} | | | |")
                continue
            results[method] = json.loads(proc.stdout.strip().splitlines()[-1])
        crisp = results.get("p3d crisp K=1", {}).get("seconds")
        soft = results.get("p3d soft K", {}).get("seconds")
        for method, r in results.items():
            ratio_a = f"{crisp / r['seconds']:.1f}x" if crisp else "-"
            ratio_b = f"{soft / r['seconds']:.1f}x" if soft else "-"
            print(f"| {grid_size}x{grid_size} | {r['faces']} | {method} | {r['k']} | {r['seconds']:.3f} | "
                  f"{r['peak_mib']:.0f} | {ratio_a} | {ratio_b} |")
        if "ours/pytorch3d" in results:
            diff = results["ours/pytorch3d"]["max_abs_diff_vs_torch_backend"]
            print(f"| {grid_size}x{grid_size} | | image: max abs diff, torch vs pytorch3d backend | | {diff:.2e} | | | |")


if __name__ == "__main__":
    main()
