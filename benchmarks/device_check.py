"""The GPU path in one go: renderer, 3D training step, the same networks as a plain 2D StyleGAN2, and a short 64² run.

    python benchmarks/device_check.py                                   # a CUDA machine: the full table, < 8 minutes
    python benchmarks/device_check.py --face-data .devdata/face64       # ... with a carried face dataset (no PyTorch3D there)
    python benchmarks/device_check.py --device cpu --quick              # the same code at toy sizes (CI)

Installs nothing and imports gan3dlib from this working tree. Every number is measured in this run
on this machine; the table is printed as Markdown at the end (and as JSON with ``--json FILE``).

1. **renderer**: forward + backward of the soft-extension renderer (``torch`` backend, float32), batch
   32 at 128², for 64² and 128² shape-image meshes (a bumpy sphere from FFHQ-like viewpoints), with
   peak device memory and the largest difference of the image from the same render on the CPU.
2. **3D step**: one training step of the FFHQ preset as ``gan3dlib.train.loop`` runs it (D phase with
   lazy R1 every 16 steps, G phase, G_ema), 128², batch 32, bf16 networks and a float32 renderer,
   in images per second, with the time split G / renderer / D.
3. **2D step**: the same networks as a plain 2D StyleGAN2: the object generator's texture, pooled to
   N x N, goes straight to the same discriminator (no renderer, no background generator). The ratio
   3D / 2D says what the renderer and the scene cost (goal: >= 0.5; StyleGAN2-ADA at 128² on one
   A100 runs about 147 images/s).
4. **64² run**: the CPU demo's settings at 64² on the face benchmark for a fixed wall time (5 minutes),
   then the shape gap closed against the clean-sphere floor (``gan3dlib.eval``). Without PyTorch3D
   the training images come from a folder written beforehand by ``SyntheticScenes.write`` (see
   docs/benchmarks.md); the 3D ground truth is regenerated from its ``dataset.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # gan3dlib from this working tree

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image  # noqa: E402
from gan3dlib.render import PerspectiveCamera, RendererConfig, ViewpointSampler  # noqa: E402

FULL = {"render_batch": 32, "image": 128, "grids": (64, 128), "step_batch": 32, "step_resolution": 128,
        "steps": 12, "r1_steps": 3, "run_seconds": 300.0, "run_resolution": 64, "run_images": 2000, "num_generated": 64,
        "num_truth": 128}
QUICK = {"render_batch": 2, "image": 32, "grids": (16,), "step_batch": 4, "step_resolution": 16,
         "steps": 3, "r1_steps": 1, "run_seconds": 10.0, "run_resolution": 16, "run_images": 32, "num_generated": 8,
         "num_truth": 16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_seconds(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: allocator, kernels, autotuning
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def _peak_mib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else math.nan


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def render_rows(device: torch.device, sizes: dict, repeats: int) -> list[dict]:
    """Forward + backward of the renderer per grid size, with peak memory and the difference from the CPU."""
    rows = []
    batch, image = sizes["render_batch"], sizes["image"]
    for n in sizes["grids"]:
        g = torch.Generator().manual_seed(n)
        grid = build_mesh_grid(n)
        s0 = sphere_shape_image(n, 0.5)[None]
        bumps = 0.03 * torch.randn(batch, 3, n, n, generator=g)
        vertices = grid.shape_image_to_vertices(F.avg_pool2d(bumps, 3, 1, 1) + s0)
        rotation = ViewpointSampler().sample_rotations(batch, generator=g)
        camera = PerspectiveCamera((image, image))
        texture = torch.rand(batch, 3, 2 * n, 2 * n, generator=g)
        background = torch.rand(batch, 3, image, image, generator=g)
        config = RendererConfig(image_size=(image, image), backend="torch")

        def render(on: torch.device, grad: bool = True):
            verts = vertices.to(on).requires_grad_(grad)
            tex = texture.to(on).requires_grad_(grad)
            out = config.build(on.type)(camera.project(verts, rotation.to(on)), grid.faces.to(on), texture=tex,
                                        face_uvs=grid.face_uvs.to(on), background=background.to(on))
            if grad:
                out.image.square().mean().backward()
            return out.image.detach()

        _reset_peak(device)
        seconds = _median_seconds(lambda: render(device), device, repeats)
        peak = _peak_mib(device)
        cpu_diff = math.nan
        if device.type != "cpu":
            cpu_diff = float((render(device, False)[:2].cpu() - render(torch.device("cpu"), False)[:2]).abs().max())
        rows.append({"mesh": f"{n}²", "faces": int(grid.faces.shape[0]), "batch": batch, "image": image,
                     "seconds": seconds, "img_s": batch / seconds, "peak_mib": peak, "max_diff_vs_cpu": cpu_diff})
    return rows


class Plain2D(torch.nn.Module):
    """The object generator as a plain 2D StyleGAN2: its texture, pooled to N x N, is the image."""

    def __init__(self, scene) -> None:
        super().__init__()
        self.object_generator = scene.object_generator
        self.shape_channels = scene.config.shape.generator_channels

    def forward(self, z_obj, z_bg, generator=None):
        raw = self.object_generator(z_obj, generator=generator)
        image = F.avg_pool2d(raw[:, self.shape_channels:], 2)
        return SimpleNamespace(image=image, shape_image=image, texture=image, background=image)


def step_rows(device: torch.device, sizes: dict, precision: str, profile: Path | None = None) -> list[dict]:
    """Images/s of the 3D training step and of the 2D step with the same networks, and the 3D split."""
    from accelerate import Accelerator

    from gan3dlib.nets import DiscriminatorConfig
    from gan3dlib.config import replace_nested
    from gan3dlib.presets import ffhq, tiny_cpu
    from gan3dlib.train.config import TrainConfig
    from gan3dlib.train.steps import discriminator_step, generator_step
    from gan3dlib.utils.checks import data_checks

    n, batch = sizes["step_resolution"], sizes["step_batch"]
    spec = replace_nested(ffhq(), {"resolution": n})
    if n < 128:  # toy sizes: small networks
        spec = replace_nested(tiny_cpu(), {"resolution": n, "shape.pyramid.levels": 2})
    synthesis = spec.object_generator.synthesis
    precision = precision if device.type == "cuda" else "no"  # accelerate has no CPU autocast for these
    config = TrainConfig(model=spec, discriminator=DiscriminatorConfig(
        None, channel_base=synthesis.channel_base, channel_max=synthesis.channel_max), batch_size=batch, mixed_precision=precision, cpu=device.type == "cpu")
    accelerator = Accelerator(mixed_precision=precision, cpu=device.type == "cpu")
    rows = []
    for kind in ("3D", "2D"):
        torch.manual_seed(0)
        scene = spec.build()
        G = scene if kind == "3D" else Plain2D(scene)
        D = config.discriminator_config(batch).build()
        opt_G = torch.optim.Adam(G.parameters(), lr=0.0025, betas=(0.0, 0.99))
        opt_D = torch.optim.Adam(D.parameters(), lr=0.0025, betas=(0.0, 0.99))
        G, D, opt_G, opt_D = accelerator.prepare(G, D, opt_G, opt_D)
        real = torch.rand(batch, 3, n, n, device=accelerator.device) * 2 - 1
        state = {"step": 0}

        def step(r1: bool = False, r1_full_precision: bool = False):
            k = state["step"]
            g = torch.Generator(device=accelerator.device).manual_seed(k)
            latents = torch.randn(4, batch, spec.z_dim, generator=g, device=accelerator.device)
            with data_checks(False):  # as the training loop runs every step after its first
                discriminator_step(accelerator, config, G, D, opt_D, real, latents[:2], g,
                                   config.resolved_r1_gamma if r1 else 0.0, r1_full_precision)
                generator_step(accelerator, G, D, D, opt_G, latents[2:], g)
            state["step"] += 1

        _reset_peak(accelerator.device)
        seconds = _median_seconds(step, accelerator.device, sizes["steps"])
        r1_seconds = {full: _median_seconds(lambda full=full: step(True, full), accelerator.device, sizes["r1_steps"])
                      for full in (False, True)}
        interval = config.r1_interval
        cycle = {full: ((interval - 1) * seconds + r1_seconds[full]) / interval for full in (False, True)}
        row = {"step": kind, "resolution": n, "batch": batch, "precision": precision, "seconds": seconds,
               "img_s": batch / seconds, "r1_seconds": r1_seconds[False], "r1_fp32_seconds": r1_seconds[True],
               "cycle_img_s": batch / cycle[False], "cycle_fp32_r1_img_s": batch / cycle[True],
               "peak_mib": _peak_mib(accelerator.device)}
        if kind == "3D":
            row.update(_split(scene, D, accelerator, batch, spec.z_dim, seconds, sizes["steps"]))
            row["host_syncs"] = host_syncs(step, accelerator.device)
            if profile is not None:
                row["profile"] = profile_table(lambda: step(state["step"] % 3 == 0), accelerator.device, profile)
        rows.append(row)
    rows.append({"step": "3D / 2D", "img_s": rows[0]["img_s"] / rows[1]["img_s"],
                 "cycle_img_s": rows[0]["cycle_img_s"] / rows[1]["cycle_img_s"],
                 "cycle_fp32_r1_img_s": rows[0]["cycle_fp32_r1_img_s"] / rows[1]["cycle_fp32_r1_img_s"]})
    return rows


def host_syncs(step, device: torch.device) -> dict[str, int]:
    """The places (file:line) of one training step that wait for the device, with their counts.

    CUDA only (``torch.cuda.set_sync_debug_mode``): every operation that makes the host wait for the
    GPU (``.item()``, ``nonzero``, a shape that depends on data, a device-to-host copy) warns once.
    """
    if device.type != "cuda":
        return {}
    places: dict[str, int] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    for w in caught:
        if "synchroniz" in str(w.message):
            where = f"{Path(w.filename).name}:{w.lineno}"
            places[where] = places.get(where, 0) + 1
    return dict(sorted(places.items(), key=lambda kv: -kv[1]))


def profile_table(step, device: torch.device, path: Path) -> str:
    """The kernels and operators of three training steps by total time, written to ``path``."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            step()
        _sync(device)
    sort = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    table = prof.key_averages().table(sort_by=sort, row_limit=30)
    path.write_text(table)
    return str(path)


def _split(scene, D, accelerator, batch: int, z_dim: int, step_seconds: float, repeats: int) -> dict:
    """Shares of D (its passes of one step) and of the renderer (two renders, one with gradients) in a step."""
    device = accelerator.device
    z = torch.randn(batch, z_dim, device=device)
    with torch.no_grad(), accelerator.autocast():
        out = scene(z, z, generator=torch.Generator(device=device).manual_seed(0))
    images = out.image.detach()
    screen = scene.config.camera.project(out.vertices.detach().float(), out.rotation.float())
    renderer = scene.renderer_for(device)
    texture, background = out.texture.detach().float(), out.background_crop.detach().float()

    D.requires_grad_(True)

    def d_part():
        with accelerator.autocast():
            D(images).mean().backward()
            D(images.clone().requires_grad_(True)).mean().backward()
            D(images.clone().requires_grad_(True)).mean().backward()

    def render_part():
        with torch.no_grad():
            renderer(screen, scene.faces, texture=texture, face_uvs=scene.face_uvs, background=background)
        verts, tex = screen.clone().requires_grad_(True), texture.clone().requires_grad_(True)
        renderer(verts, scene.faces, texture=tex, face_uvs=scene.face_uvs, background=background).image.sum().backward()

    d_seconds = _median_seconds(d_part, device, repeats)
    render_seconds = _median_seconds(render_part, device, repeats)
    return {"share_D": d_seconds / step_seconds, "share_renderer": render_seconds / step_seconds,
            "share_G": max(0.0, 1 - (d_seconds + render_seconds) / step_seconds)}


def run_row(device: torch.device, sizes: dict, face_data: str | None, folder: Path) -> dict:
    """The CPU demo at ``run_resolution`` on faces for ``run_seconds`` of training, then its shape gap."""
    from gan3dlib.data.synthetic_files import read_config
    from gan3dlib.eval.baselines import floor_shapes
    from gan3dlib.eval.synthetic_eval import ShapeReference, gaps, scene_shapes
    from gan3dlib.scene import SceneGenerator
    from gan3dlib.train.loop import train
    from gan3dlib.train.recipe import cpu_preset

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)  # the step rows' Accelerator had another mixed precision
    n = sizes["run_resolution"]
    preset = cpu_preset("face")
    config = dataclasses.replace(preset, model=dataclasses.replace(preset.model, resolution=n), kimg=1e6,
                                 out=str(folder / "run"), cpu=device.type == "cpu", eval_kimg=None,
                                 checkpoint_kimg=1e6, sample_kimg=1e6, log_kimg=1e6,
                                 synthetic_images=sizes["run_images"])
    synthetic = config.synthetic_config()
    if face_data is not None:
        synthetic = read_config(face_data)
        config = dataclasses.replace(config, data=str(Path(face_data) / "images"))
    started, steps, chunk = time.perf_counter(), 0, 5
    while time.perf_counter() - started < sizes["run_seconds"]:
        result = train(config, max_steps=chunk)  # each chunk continues the last (resume="auto")
        steps = result.steps
        elapsed = time.perf_counter() - started  # the next chunk fills most of the time left
        chunk = max(5, int(0.9 * steps / elapsed * (sizes["run_seconds"] - elapsed)))
    seconds = time.perf_counter() - started
    reference = ShapeReference(synthetic, sizes["num_truth"], 256, seed=0)
    trained = SceneGenerator.from_pretrained(folder / "run" / "model")
    floor = reference.score(floor_shapes(trained, reference, sizes["num_generated"]))
    truth = reference.score(reference.held_out(sizes["num_generated"]))
    score = reference.score(scene_shapes(trained, sizes["num_generated"], resolution=reference.resolution))
    fractions, shape_gap = gaps(score.as_dict(), floor.as_dict(), truth.as_dict())
    return {"resolution": n, "seconds": seconds, "kimg": result.kimg, "steps": steps,
            "img_s": result.kimg * 1000 / seconds, "shape_gap": shape_gap, "gap": fractions,
            "front": score.front, "front_floor": floor.front, "front_truth": truth.front}


def markdown(report: dict) -> str:
    """The report as Markdown tables."""
    lines = [f"# device check: {report['device_name']}, torch {report['torch']}, {report['date']}", "",
             "| renderer mesh | faces | batch | image | fwd+bwd (s) | img/s | peak MiB | max diff vs CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report.get("renderer", []):
        lines.append(f"| {r['mesh']} | {r['faces']} | {r['batch']} | {r['image']}² | {r['seconds']:.4f} | "
                     f"{r['img_s']:.0f} | {r['peak_mib']:.0f} | {r['max_diff_vs_cpu']:.2e} |")
    lines += ["", "| training step | N | batch | precision | s/step | img/s | s/R1 step (fp32 R1) "
              "| img/s with R1 every 16 (fp32 R1) | peak MiB | G / renderer / D |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report.get("steps", []):
        if r["step"] == "3D / 2D":
            lines.append(f"| 3D / 2D ratio | | | | | {r['img_s']:.2f} | | {r['cycle_img_s']:.2f} "
                         f"({r['cycle_fp32_r1_img_s']:.2f}) | | |")
            continue
        split = (f"{r['share_G']:.0%} / {r['share_renderer']:.0%} / {r['share_D']:.0%}" if "share_D" in r else "–")
        lines.append(f"| {r['step']} | {r['resolution']} | {r['batch']} | {r['precision']} | {r['seconds']:.4f} | "
                     f"{r['img_s']:.1f} | {r['r1_seconds']:.3f} ({r['r1_fp32_seconds']:.3f}) | "
                     f"{r['cycle_img_s']:.1f} ({r['cycle_fp32_r1_img_s']:.1f}) | {r['peak_mib']:.0f} | {split} |")
    if report.get("run"):
        r = report["run"]
        lines += ["", "| face run | wall (s) | kimg | img/s | shape gap | front (floor → run, truth) |",
                  "|---|---|---|---|---|---|",
                  f"| {r['resolution']}² | {r['seconds']:.0f} | {r['kimg']:.2f} | {r['img_s']:.1f} | "
                  f"{r['shape_gap']:.2f} | {r['front_floor']:.2f} → {r['front']:.2f}, {r['front_truth']:.2f} |"]
    syncs = next((r["host_syncs"] for r in report.get("steps", []) if r.get("host_syncs")), None)
    if syncs:
        lines += ["", f"host syncs in one 3D step: {sum(syncs.values())} ("
                  + ", ".join(f"{where} ×{count}" for where, count in syncs.items()) + ")"]
    for key, error in report.get("errors", {}).items():
        lines += ["", f"{key}: FAILED: {error}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="'cuda' (default) or 'cpu'")
    parser.add_argument("--quick", action="store_true", help="toy sizes (seconds; for CI and a first look)")
    parser.add_argument("--precision", default="bf16", choices=("no", "bf16", "fp16"))
    parser.add_argument("--face-data", default=None, help="a face dataset folder written by SyntheticScenes.write")
    parser.add_argument("--skip-run", action="store_true", help="skip the timed face run")
    parser.add_argument("--run-seconds", type=float, default=None, help="wall time of the face run's training")
    parser.add_argument("--json", default=None, help="also write the report as JSON here (after each section)")
    parser.add_argument("--profile", default=None, help="write the profiler's table of three 3D steps here")
    parser.add_argument("--keep-going", action="store_true",
                        help="report a failing section and go on with the next (one-shot runs on a rented GPU)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("device_check.py: error: --device cuda: no CUDA device is visible; pass --device cpu")
    sizes = dict(QUICK if args.quick else FULL)
    if args.run_seconds is not None:
        sizes["run_seconds"] = args.run_seconds
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    report = {"device_name": name, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "sizes": sizes}
    profile = Path(args.profile) if args.profile else None

    def face_run() -> dict:
        with tempfile.TemporaryDirectory() as folder:
            return run_row(device, sizes, args.face_data, Path(folder))

    sections = {"renderer": lambda: render_rows(device, sizes, repeats=3 if args.quick else 10),
                "steps": lambda: step_rows(device, sizes, args.precision, profile)}
    if not args.skip_run:
        sections["run"] = face_run
    for key, measure in sections.items():
        started = time.perf_counter()
        try:
            report[key] = measure()
        except Exception as error:  # noqa: BLE001 - one-shot runs keep the sections that worked
            if not args.keep_going:
                raise
            traceback.print_exc()
            report.setdefault("errors", {})[key] = f"{type(error).__name__}: {error}"
        print(f"[{key}: {time.perf_counter() - started:.0f} s]", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report)
    print(text, flush=True)
    return report


if __name__ == "__main__":
    main()
