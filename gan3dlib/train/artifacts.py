"""What a run leaves besides its training state: checkpoints written from every process, the exported
G_ema (``model/``), sample sheets and the interpolation GIF, and the end-of-run artifacts that a
finished run rewrites when they are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from gan3dlib.train.checkpoint import load_checkpoint, save_checkpoint
from gan3dlib.train.config import TrainConfig

__all__ = ["write_checkpoint", "write_sample_sheet", "write_interpolation", "sample_latents", "model_facts",
           "write_missing_end_artifacts"]


def _average_buffers(accelerator: Accelerator, module: torch.nn.Module) -> None:
    """Averages floating buffers (StyleGAN's ``w_avg`` tracks each process's own latents)."""
    if accelerator.num_processes == 1:
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            buffer.copy_(accelerator.reduce(buffer.detach().clone(), reduction="mean"))


def write_checkpoint(accelerator, config, run, nimg, step, skipped, G, D, G_ema, opt_G, opt_D) -> None:
    """Checkpoint (all processes' RNG gathered to the main one) plus the exported G_ema."""
    for module in (G, D, G_ema.module):
        _average_buffers(accelerator, module)
    rng = accelerator.gather(torch.get_rng_state().to(accelerator.device).unsqueeze(0)).cpu()
    if accelerator.is_main_process:
        states = {f"torch_cpu_{i}": rng[i] for i in range(rng.shape[0])}
        save_checkpoint(
            run, nimg / 1000, {"G": G, "D": D, "G_ema": G_ema.module}, {"G": opt_G, "D": opt_D}, states,
            {"step": step, "skipped_steps": skipped, "nimg": nimg}, keep=config.keep_checkpoints,
        )
        G_ema.module.save_pretrained(run / "model", facts=model_facts(config, nimg))
    accelerator.wait_for_everyone()


def write_sample_sheet(scene, latents: torch.Tensor, path: Path, seed: int) -> None:
    """A Figure-1 style sheet of G_ema for fixed latents (8 rows)."""
    from gan3dlib.viz import sample_sheet, save_image

    device = next(scene.parameters()).device
    sheet = sample_sheet(scene, latents[0].to(device), latents[1].to(device), seed=seed)
    save_image(sheet, path)


def write_interpolation(scene, latents: torch.Tensor, path: Path) -> None:
    """A latent-interpolation GIF of G_ema at three viewpoints (the paper's Figure 5)."""
    from gan3dlib.viz import interpolation_frames, save_gif

    device = next(scene.parameters()).device
    frames = interpolation_frames(scene, latents[0, 0].to(device), latents[0, 1].to(device), num_frames=16)
    save_gif(frames, path, fps=8)


def sample_latents(config: TrainConfig) -> torch.Tensor:
    """(2, 8, z_dim) the fixed object and background latents of the run's sample sheets and GIF."""
    z_dim = config.model.z_dim
    return torch.randn(2, 8, z_dim, generator=torch.Generator().manual_seed(config.seed))


def model_facts(config: TrainConfig, nimg: int) -> dict[str, Any]:
    return {
        "name": f"gan3dlib scene generator ({Path(config.out).name})",
        "data": config.data,
        "kimg": f"{nimg / 1000:.3f}",
        "resolution": config.model.resolution,
        "batch_size": config.batch_size,
        "r1_gamma": f"{config.resolved_r1_gamma:.4g}",
        "mixed_precision": config.mixed_precision,
        "lr (G, D)": f"{config.g_lr}, {config.d_lr}",
    }

def write_missing_end_artifacts(config: TrainConfig, checkpoint: Path, nimg: int) -> None:
    """Writes the exported model, the last sample sheet and the interpolation GIF of a finished run,
    each only when it is missing, from the G_ema of ``checkpoint``."""
    run = Path(config.out)
    sheet = run / "samples" / f"sheet-{nimg / 1000:010.3f}kimg.png"
    model, gif = run / "model" / "model.safetensors", run / "samples" / "interpolation.gif"
    if all(path.is_file() for path in (model, sheet, gif)):
        return
    torch.manual_seed(config.seed)
    G_ema = config.model.build()
    load_checkpoint(checkpoint, {"G_ema": G_ema}, {})
    latents = sample_latents(config)
    if not model.is_file():
        G_ema.save_pretrained(run / "model", facts=model_facts(config, nimg))
    if not sheet.is_file():
        write_sample_sheet(G_ema, latents, sheet, config.seed)
    if not gif.is_file():
        write_interpolation(G_ema, latents, gif)
