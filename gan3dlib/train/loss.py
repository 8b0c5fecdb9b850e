"""GAN objectives of StyleGAN2-ADA: non-saturating logistic loss and the R1 penalty.

With discriminator logits ``D(x)``:

- discriminator: ``softplus(D(fake)) + softplus(-D(real))`` (= ``-log(1 - sigmoid(D(fake))) -
  log(sigmoid(D(real)))``, the paper's eq. 5 maximised by D);
- generator (non-saturating): ``softplus(-D(fake))`` (= ``-log sigmoid(D(fake))``);
- R1: ``||∇_x D(x)||²`` on real images, scaled by ``gamma / 2``; computed out of place with
  ``torch.autograd.grad(create_graph=True)`` so it works under DDP (pytorch/pytorch#63812).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan3dlib.utils.checks import check_tensor

__all__ = ["discriminator_loss", "generator_loss", "r1_penalty"]


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Logistic loss of the discriminator, averaged over the batch.

    Args:
        real_logits: (B, 1) or (B,) logits of real images.
        fake_logits: (B', 1) or (B',) logits of generated images.

    Returns:
        Scalar ``mean(softplus(fake)) + mean(softplus(-real))``.
    """
    check_tensor(real_logits, "real_logits", floating=True)
    check_tensor(fake_logits, "fake_logits", floating=True)
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``mean(softplus(-D(fake)))``.

    Args:
        fake_logits: (B, 1) or (B,) logits of generated images.

    Returns:
        Scalar loss.
    """
    check_tensor(fake_logits, "fake_logits", floating=True)
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_images: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """``mean_b ||∇_x D(x_b)||²`` with the graph kept, so the penalty itself can be differentiated.

    Args:
        real_images: (B, C, H, W) real images with ``requires_grad=True`` that produced
            ``real_logits``.
        real_logits: (B, 1) or (B,) their logits.

    Returns:
        Scalar mean squared gradient norm (multiply by ``gamma / 2`` for the R1 loss).
    """
    check_tensor(real_images, "real_images", (None, None, None, None), floating=True)
    if not real_images.requires_grad:
        raise ValueError("real_images: expected a tensor with requires_grad=True (the one fed to D), got one without")
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()
