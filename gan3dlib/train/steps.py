"""The two phases of one training step, as [`train`][gan3dlib.train.loop.train] runs them (StyleGAN2-ADA's recipe).

- [`discriminator_step`][gan3dlib.train.steps.discriminator_step]: fakes without gradients; D learns
  ``softplus(D(fake)) + softplus(-D(real))``, plus the lazy R1 penalty
  ``gamma / 2 * ||grad D(real)||² * r1_interval`` on its steps;
- [`generator_step`][gan3dlib.train.steps.generator_step]: D frozen; the scene generator renders fakes
  scored ``softplus(-D(fake))``.

Gradients are ``nan_to_num``'d; a non-finite loss on any process skips that phase's update on every
process. [`watch_gradients`][gan3dlib.train.steps.watch_gradients] and
[`rms_gradients`][gan3dlib.train.steps.rms_gradients] report how much gradient reaches the generated
shape image, texture and background. Both phases are plain functions, so benchmarks time the very
same step (``benchmarks/device_check.py``).
"""

from __future__ import annotations

import torch
from accelerate import Accelerator

from gan3dlib.train.loss import generator_loss, r1_penalty

__all__ = ["discriminator_step", "generator_step", "watch_gradients", "rms_gradients"]


def _sanitize_gradients(module: torch.nn.Module) -> None:
    for p in module.parameters():
        if p.grad is not None:
            torch.nan_to_num_(p.grad, nan=0.0, posinf=1e5, neginf=-1e5)


def discriminator_step(accelerator, config, G_plain, D, opt_D, real, latents, generator, r1_gamma: float,
                       r1_full_precision: bool = False):
    """D phase: fakes without gradients; D(fake) and D(real) (+ lazy R1 when ``r1_gamma``) in two backward passes.

    Args:
        accelerator: the run's Accelerator (autocast, backward, cross-process agreement on skips).
        config: the run's [`TrainConfig`][gan3dlib.train.config.TrainConfig] (``r1_interval``).
        G_plain: the unwrapped generator; ``G_plain(z_obj, z_bg, generator=...)`` returns an object
            with ``image`` (B, 3, N, N).
        D: the (wrapped) discriminator.
        opt_D: its optimizer.
        real: (B, 3, N, N) real images.
        latents: (2, B, z_dim) object and background latents.
        generator: the step's random generator.
        r1_gamma: R1 weight of this step (0: no R1 this step).
        r1_full_precision: on R1 steps, run D(real) and its double backward in float32 instead of the
            run's mixed precision.

    Returns:
        ``(finite, (loss_fake, loss_real, loss_r1))``, losses detached; the update is skipped on every
        process when any loss is non-finite on any process.
    """
    D.requires_grad_(True)
    with torch.no_grad(), accelerator.autocast():
        fake = G_plain(latents[0], latents[1], generator=generator).image
    with accelerator.no_sync(D), accelerator.autocast():
        loss_fake = torch.nn.functional.softplus(D(fake)).mean()
    finite = _all_finite(accelerator, loss_fake)
    accelerator.backward(loss_fake if finite else loss_fake * 0)
    real_input = real.detach().requires_grad_(r1_gamma > 0)
    full = r1_gamma > 0 and r1_full_precision
    with torch.autocast(accelerator.device.type, enabled=False) if full else accelerator.autocast():
        real_logits = D(real_input)
        loss_real = torch.nn.functional.softplus(-real_logits).mean()
        loss_r1 = (r1_penalty(real_input, real_logits) * (r1_gamma / 2) * config.r1_interval if r1_gamma > 0
                   else loss_real * 0)
    finite = _all_finite(accelerator, loss_real + loss_r1) and finite
    accelerator.backward((loss_real + loss_r1) if finite else (loss_real + loss_r1) * 0)
    if finite:
        _sanitize_gradients(D)
        opt_D.step()
    opt_D.zero_grad(set_to_none=True)
    return finite, (loss_fake.detach(), loss_real.detach(), loss_r1.detach())


def generator_step(accelerator, G, D, D_plain, opt_G, latents, generator):
    """G phase: D frozen and unwrapped (no gradient sync for it), G wrapped; ``softplus(-D(G(z)))``.

    Args:
        accelerator: the run's Accelerator.
        G: the (wrapped) generator; its output has ``image``, ``shape_image``, ``texture`` and
            ``background`` (the last three are watched for their gradients).
        D: the (wrapped) discriminator, frozen here.
        D_plain: the unwrapped discriminator that scores the fakes.
        opt_G: G's optimizer.
        latents: (2, B, z_dim) object and background latents.
        generator: the step's random generator.

    Returns:
        ``(finite, loss, watched)`` with ``watched`` the outputs whose gradients are logged.
    """
    D.requires_grad_(False)
    with accelerator.autocast():
        out = G(latents[0], latents[1], generator=generator)
        watched = watch_gradients(out)
        loss = generator_loss(D_plain(out.image))
    finite = _all_finite(accelerator, loss)
    accelerator.backward(loss if finite else loss * 0)
    if finite:
        _sanitize_gradients(G)
        opt_G.step()
    opt_G.zero_grad(set_to_none=True)
    return finite, loss.detach(), watched


def _all_finite(accelerator: Accelerator, loss: torch.Tensor) -> bool:
    """True when the loss is finite on every process (all processes then skip or step together)."""
    flag = torch.isfinite(loss.detach()).float().reshape(1)
    return bool(accelerator.gather(flag).min() > 0)


def watch_gradients(out) -> dict[str, torch.Tensor]:
    """The generated shape image, texture and background, kept with their gradients after backward."""
    watched = {"shape": out.shape_image, "texture": out.texture, "background": out.background}
    for tensor in watched.values():
        if tensor.requires_grad:
            tensor.retain_grad()
    return watched


def rms_gradients(watched: dict[str, torch.Tensor]) -> dict[str, float]:
    """Root-mean-square gradient of the last G step at each watched output (``grad_shape`` ...)."""
    return {f"grad_{name}": float(t.grad.float().square().mean().sqrt()) if t.grad is not None else float("nan")
            for name, t in watched.items()}
