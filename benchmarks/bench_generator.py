"""Generator benchmark: parameter counts, throughput and the renderer's share of a scene step.

For each preset (``tiny_cpu`` at 32² and the paper's ``ffhq`` at 128² by default) it measures on
this machine, in one run:

- parameters of the object generator, the background generator and a matching discriminator;
- scene generator forward (eval, no grad) throughput in images/s;
- scene generator forward+backward (training mode, style mixing on) throughput in images/s;
- the renderer's share of that forward+backward: the soft-extension render (forward+backward)
  of the same meshes, textures and backgrounds, timed alone, divided by the whole step.

Usage::

    python benchmarks/bench_generator.py                       # tiny_cpu (batch 16), ffhq (batch 2)
    python benchmarks/bench_generator.py --presets tiny_cpu --batch 8 --repeats 5
"""

from __future__ import annotations

import argparse
import time

import torch

from gan3dlib.nets import DiscriminatorConfig
from gan3dlib.presets import PRESETS

DEFAULT_BATCH = {"tiny_cpu": 16, "ffhq": 2, "lsun_car": 2, "lsun_bus": 2}


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def count(module: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def measure(preset: str, batch: int, repeats: int) -> dict:
    """Times one preset; returns the table row as a dict."""
    config = PRESETS[preset]()
    torch.manual_seed(0)
    scene = config.build()
    z_dim = config.object_generator.mapping.z_dim
    g = torch.Generator().manual_seed(0)
    z_obj, z_bg = torch.randn(batch, z_dim, generator=g), torch.randn(batch, z_dim, generator=g)
    discriminator = DiscriminatorConfig(
        resolution=config.resolution,
        channel_base=config.object_generator.synthesis.channel_base,
        channel_max=config.object_generator.synthesis.channel_max,
    ).build()

    def forward():
        scene.eval()
        with torch.no_grad():
            scene(z_obj, z_bg, generator=torch.Generator().manual_seed(1))

    def forward_backward():
        scene.train()
        scene.zero_grad(set_to_none=True)
        out = scene(z_obj, z_bg, generator=torch.Generator().manual_seed(1))
        out.image.square().mean().backward()

    scene.train()
    out = scene(z_obj, z_bg, generator=torch.Generator().manual_seed(1))
    screen = scene.config.camera.project(out.vertices.detach(), out.rotation)
    texture, crop = out.texture.detach(), out.background_crop.detach()
    renderer = scene.renderer_for(z_obj.device)

    def render_only():
        verts = screen.clone().requires_grad_(True)
        tex = texture.clone().requires_grad_(True)
        bg = crop.clone().requires_grad_(True)
        image = renderer(verts, scene.faces, texture=tex, face_uvs=scene.face_uvs, background=bg).image
        image.square().mean().backward()

    fwd = _median_seconds(forward, repeats)
    step = _median_seconds(forward_backward, repeats)
    render = _median_seconds(render_only, repeats)
    return {
        "preset": preset,
        "resolution": config.resolution,
        "batch": batch,
        "params_object_g": count(scene.object_generator),
        "params_background_g": count(scene.background_generator),
        "params_d": count(discriminator),
        "fwd_img_s": batch / fwd,
        "fwd_bwd_img_s": batch / step,
        "render_share": render / step,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["tiny_cpu", "ffhq"], choices=sorted(PRESETS))
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: per preset)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median)")
    args = parser.parse_args(argv)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; medians of {args.repeats}")
    print("| preset | N | batch | params G_obj | params G_bg | params D | fwd img/s | fwd+bwd img/s | render share of fwd+bwd |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        r = measure(preset, args.batch or DEFAULT_BATCH.get(preset, 4), args.repeats)
        print(
            f"| {r['preset']} | {r['resolution']} | {r['batch']} | {r['params_object_g'] / 1e6:.2f}M | "
            f"{r['params_background_g'] / 1e6:.2f}M | {r['params_d'] / 1e6:.2f}M | {r['fwd_img_s']:.1f} | "
            f"{r['fwd_bwd_img_s']:.2f} | {100 * r['render_share']:.1f}% |"
        )


if __name__ == "__main__":
    main()
