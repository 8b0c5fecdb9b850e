"""Training-step benchmark: images/s, peak memory, and the time split between G, renderer and D.

Measured in one run on this machine for a preset (default ``tiny_cpu``, batch 16):

- **step**: a full training step of ``gan3dlib.train.loop.train`` (D phase with lazy R1 + G
  phase + EMA), median over steps after a warm-up, on random 32² images;
- **D**: the discriminator's share: its forward+backward on the step's real and fake batches;
- **renderer**: the soft-extension render forward+backward of the step's two fake batches;
- **G**: the rest of the step (both StyleGANs, shape assembly, EMA, optimizers, data).

Peak memory is the growth of the process's maximum resident set during the training steps.

Usage::

    python benchmarks/bench_train.py
    python benchmarks/bench_train.py --preset tiny_cpu --batch 32 --steps 20
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan3dlib.nets.discriminator import DiscriminatorConfig
from gan3dlib.presets import PRESETS
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.loop import train


def _median(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(preset: str, batch: int, steps: int, folder: Path) -> dict:
    """Times the training step and its parts."""
    spec = PRESETS[preset]()
    n = spec.resolution
    synthesis = spec.object_generator.synthesis
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(64):
        Image.fromarray((rng.random((n, n, 3)) * 255).astype(np.uint8)).save(data / f"{i:03d}.png")
    config = TrainConfig(
        model=spec, discriminator=DiscriminatorConfig(None, channel_base=synthesis.channel_base,
                                                      channel_max=synthesis.channel_max), data=str(data), out=str(folder / "run"), kimg=1e6, batch_size=batch, cpu=True,
        checkpoint_kimg=1e6, sample_kimg=1e6, log_kimg=1e6,
    )
    train(dataclasses.replace(config, out=str(folder / "warmup")), max_steps=2)  # imports, allocator
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = train(config, max_steps=steps)
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    step_seconds = result.seconds / steps

    # The parts, on the same shapes.
    torch.manual_seed(0)
    scene = spec.build()
    D = config.discriminator_config(batch).build()
    z = torch.randn(batch, spec.z_dim)
    out = scene(z, z, generator=torch.Generator().manual_seed(0))
    images = out.image.detach()

    def d_part():
        D.zero_grad(set_to_none=True)
        real = images.clone().requires_grad_(True)
        (D(images).mean() + D(real).mean()).backward()  # fake and real passes of the D phase
        D(images.clone().requires_grad_(True)).mean().backward()  # G phase through D

    screen = scene.config.camera.project(out.vertices.detach(), out.rotation)
    renderer = scene.renderer_for(torch.device("cpu"))

    def render_part():
        for _ in range(2):  # one fake batch in the D phase (no grad there), one in the G phase
            verts = screen.clone().requires_grad_(True)
            tex = out.texture.detach().clone().requires_grad_(True)
            renderer(verts, scene.faces, texture=tex, face_uvs=scene.face_uvs, background=out.background_crop.detach()).image.sum().backward()

    d_seconds = _median(d_part, 5)
    render_seconds = _median(render_part, 5)
    return {
        "preset": preset, "resolution": n, "batch": batch, "img_s": batch / step_seconds, "peak_mib": peak_mib,
        "step_s": step_seconds, "d_s": d_seconds, "render_s": render_seconds,
        "g_s": max(step_seconds - d_seconds - render_seconds, 0.0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="tiny_cpu", choices=sorted(PRESETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        r = measure(args.preset, args.batch, args.steps, Path(folder))
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; {args.steps} steps")
    print("| preset | N | batch | img/s | step (s) | peak mem (MiB) | G | renderer | D |")
    print("|---|---|---|---|---|---|---|---|---|")
    share = {k: 100 * r[f"{k}_s"] / r["step_s"] for k in ("g", "render", "d")}
    print(f"| {r['preset']} | {r['resolution']} | {r['batch']} | {r['img_s']:.1f} | {r['step_s']:.3f} | {r['peak_mib']:.0f} | "
          f"{share['g']:.0f}% | {share['render']:.0f}% | {share['d']:.0f}% |")


if __name__ == "__main__":
    sys.exit(main())
