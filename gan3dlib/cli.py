"""The ``gan3d`` command: training, and sample sheets, mesh export, turntables, model info and FID of a model folder.

    gan3d train ffhq --data /data/ffhq128 --batch_size 64 --model.renderer.blur_px 1.5
    gan3d train cpu_face --out runs/demo
    accelerate launch -m gan3dlib.cli train ffhq --data /data/ffhq128
    gan3d sample --model runs/ffhq/model --seeds 0-7 --out samples/
    gan3d export --model runs/ffhq/model --seed 3 --format glb --out face3.glb
    gan3d views  --model runs/ffhq/model --seed 3 --out face3.gif
    gan3d info   --model runs/ffhq/model
    gan3d fid    --model runs/ffhq/model --data /data/ffhq128 --inception-weights weights-inception-2015-12-05-6726825d.pth

``gan3d train PRESET`` parses the ``--a.b value`` overrides of a
[`TrainConfig`][gan3dlib.train.config.TrainConfig] on top of the preset with the recipes' parser
([`run_recipe`][gan3dlib.train.recipe.run_recipe]); ``gan3d train PRESET --help`` lists them. A model
folder is what ``save_pretrained`` writes (training exports G_ema to ``<run>/model``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from gan3dlib.errors import report_errors, user_message

__all__ = ["main", "parse_seeds"]


def parse_seeds(text: str) -> list[int]:
    """``"0-7"``, ``"1,3,5"``, ``"4"`` or combinations like ``"0-3,10"`` -> sorted unique seeds."""
    seeds: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                seeds.update(range(low, high + 1))
            else:
                seeds.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds: expected e.g. '0-7', '1,3,5' or '4', got {text!r}") from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"--seeds: expected non-negative seeds, got {text!r}")
    return sorted(seeds)


def _load(model: str):
    from gan3dlib.scene import SceneGenerator

    try:
        return SceneGenerator.from_pretrained(model, local_files_only=True)
    except ValueError as err:
        raise ValueError(
            f"--model: cannot load a model from {model!r}: {err}; --model expects a folder written by "
            "save_pretrained (a training run exports one to <run>/model)"
        ) from None


def _writing(flag: str, write):
    """Runs ``write()``; a file-system refusal becomes a ValueError naming ``flag`` and the path."""
    try:
        return write()
    except OSError as err:
        raise ValueError(f"{flag}: {user_message(err)}") from None


def _latents(scene, seeds: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    z_dim = scene.config.object_generator.mapping.z_dim
    rows = [torch.randn(2, z_dim, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
    z = torch.stack(rows)  # (S, 2, z_dim): object and background latent of each seed
    return z[:, 0], z[:, 1]


def _sample(args: argparse.Namespace) -> None:
    from gan3dlib.viz import sample_sheet, save_image

    scene = _load(args.model)
    z_obj, z_bg = _latents(scene, args.seeds)
    out = Path(args.out)
    sheet = sample_sheet(scene, z_obj, z_bg, truncation_psi=args.truncation, num_views=args.views)
    path = _writing("--out", lambda: save_image(sheet, out / f"sheet-seeds{args.seeds[0]}-{args.seeds[-1]}.png"))
    print(f"wrote {path} ({len(args.seeds)} rows: render | normals | texture | background | {args.views} views)")


def _export(args: argparse.Namespace) -> None:
    scene = _load(args.model).eval()
    z_obj, z_bg = _latents(scene, [args.seed])
    with torch.no_grad():
        output = scene(z_obj, z_bg, truncation_psi=args.truncation, noise_mode="const")
    out = Path(args.out) if args.out else Path(f"seed{args.seed:04d}.{args.format}")
    paths = _writing("--out", lambda: scene.export(output, 0, out, format=args.format))
    print("wrote " + ", ".join(str(p) for p in paths))


def _views(args: argparse.Namespace) -> None:
    from gan3dlib.viz import save_gif, turntable_frames

    scene = _load(args.model).eval()
    z_obj, z_bg = _latents(scene, [args.seed])
    with torch.no_grad():
        output = scene(z_obj, z_bg, truncation_psi=args.truncation, noise_mode="const")
    frames = turntable_frames(scene, output, num_frames=args.frames)
    out = Path(args.out) if args.out else Path(f"seed{args.seed:04d}.gif")
    path = _writing("--out", lambda: save_gif(frames, out, fps=args.fps))
    print(f"wrote {path} ({args.frames} frames, 360° turn)")


def _info(args: argparse.Namespace) -> None:
    from gan3dlib.config import to_dict

    scene = _load(args.model)
    cfg = scene.config
    params = {name: sum(p.numel() for p in getattr(scene, name).parameters()) for name in ("object_generator", "background_generator")}
    summary = {
        "resolution": cfg.resolution,
        "shape": {"init": cfg.shape.init, "pyramid_levels": cfg.shape.levels, "size_constraint": cfg.shape.use_size_constraint},
        "renderer": cfg.renderer.mode,
        "viewpoints": {"yaw": cfg.viewpoints.yaw_range_degrees, "pitch": cfg.viewpoints.pitch_range_degrees},
        "parameters": params,
    }
    print(json.dumps(summary, indent=2))
    if args.full:
        print(json.dumps(to_dict(cfg), indent=2))


def _fid(args: argparse.Namespace) -> None:
    from gan3dlib.data.images import ImageDatasetConfig
    from gan3dlib.eval.image_metrics import InceptionFeatures, RandomProjectionFeatures
    from gan3dlib.eval.model_fid import model_fid

    if args.features == "random":
        extractor = RandomProjectionFeatures()
    elif args.inception_weights is None:
        raise ValueError(
            "--inception-weights FILE is required: the standard FID needs the Inception-v3 weights "
            "file weights-inception-2015-12-05-6726825d.pth (torch-fidelity's release v0.2.0), downloaded once by "
            "hand; gan3dlib never downloads it. For a quick number comparable only between your own runs, "
            "use --features random instead"
        )
    else:
        try:
            extractor = InceptionFeatures(args.inception_weights)
        except ValueError as err:
            raise ValueError(f"--inception-weights: {err}") from None
    scene = _load(args.model)
    try:
        dataset = ImageDatasetConfig(path=args.data, resolution=scene.config.resolution).build()
    except ValueError as err:
        raise ValueError(f"--data: {err}") from None
    cache_dir = None if args.no_cache else args.cache_dir
    result = model_fid(scene, dataset, extractor, args.num, seed=args.seed, batch_size=args.batch,
                       cache_dir=cache_dir, dataset_key=str(Path(args.data).resolve()))
    result["features"] = extractor.name
    print(json.dumps(result, indent=2))


def _train(args: argparse.Namespace) -> None:
    from gan3dlib.train.recipe import run_recipe, train_preset

    run_recipe(train_preset(args.preset), args.overrides, prog="gan3d train")


def build_parser() -> argparse.ArgumentParser:
    """The ``gan3d`` argument parser."""
    parser = argparse.ArgumentParser(prog="gan3d", description="Training, and sample sheets, mesh export, turntables, "
                                     "model info and FID of a model folder.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train from a preset with --a.b value overrides (gan3d train PRESET --help)",
                       add_help=False)
    p.add_argument("preset", help="ffhq, lsun_car, lsun_bus (the paper's models) or cpu_face, cpu_car, cpu_blob (the CPU "
                   "demo on a synthetic category)")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="--a.b value overrides of the TrainConfig")
    p.set_defaults(run=_train)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", required=True, help="model folder written by save_pretrained (e.g. <run>/model)")
        p.add_argument("--truncation", type=float, default=1.0, help="truncation psi (1: off)")

    p = sub.add_parser("sample", help="write a sample sheet (Figure 1 layout)")
    common(p)
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-7"), help="e.g. 0-7 or 1,3,5")
    p.add_argument("--views", type=int, default=5, help="canonical views per row")
    p.add_argument("--out", default="samples", help="output folder")
    p.set_defaults(run=_sample)

    p = sub.add_parser("export", help="export one sample as a textured mesh")
    common(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("glb", "obj", "ply"), default="glb")
    p.add_argument("--out", default=None, help="output file (default seed<NNNN>.<format>)")
    p.set_defaults(run=_export)

    p = sub.add_parser("views", help="write a turntable GIF of one sample")
    common(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=36)
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument("--out", default=None, help="output .gif (default seed<NNNN>.gif)")
    p.set_defaults(run=_views)

    p = sub.add_parser("info", help="print what a model folder holds")
    p.add_argument("--model", required=True)
    p.add_argument("--full", action="store_true", help="also print the whole config")
    p.set_defaults(run=_info)

    p = sub.add_parser("fid", help="FID (and KID) of a model's renders against an image dataset")
    p.add_argument("--model", required=True, help="model folder written by save_pretrained (e.g. <run>/model)")
    p.add_argument("--data", required=True, help="image folder or StyleGAN .zip, as for training")
    p.add_argument("--inception-weights", default=None, help="the FID Inception-v3 weights file (see docs/results.md)")
    p.add_argument("--features", choices=("inception", "random"), default="inception",
                   help="'random': a fixed random projection, for numbers comparable only among your own runs")
    p.add_argument("--num", type=int, default=10_000, help="generated renders (and at most this many real images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--cache-dir", default="runs/fid-stats", help="where real-image statistics are cached")
    p.add_argument("--no-cache", action="store_true", help="compute real features every time (also reports KID)")
    p.set_defaults(run=_fid)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gan3d`` console script (user errors: one line on stderr, exit status 2)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    report_errors(lambda: args.run(args), f"gan3d {args.command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
