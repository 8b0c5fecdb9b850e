"""Mapping, synthesis and generator: shapes, w_avg, truncation, style mixing, determinism, errors."""

from __future__ import annotations

import pytest
import torch

from gan3dlib.nets import (
    Generator,
    GeneratorConfig,
    MappingConfig,
    SynthesisConfig,
    mix_styles,
)

Z = 32  # tiny widths keep every test well under a second


def tiny_config(resolution: int = 16, out_channels: int = 3, block_type: str = "stylegan2", **kw) -> GeneratorConfig:
    return GeneratorConfig(
        mapping=MappingConfig(z_dim=Z, w_dim=Z, num_layers=kw.pop("num_layers", 2)),
        synthesis=SynthesisConfig(
            resolution=resolution,
            out_channels=out_channels,
            w_dim=Z,
            channel_base=256,
            channel_max=32,
            block_type=block_type,
            conv_clamp=kw.pop("conv_clamp", None),
        ),
        **kw,
    )


def build(seed: int = 0, **kw) -> Generator:
    torch.manual_seed(seed)
    return tiny_config(**kw).build()


BLOCKS = ["stylegan2", "adain"]


@pytest.mark.parametrize("block_type", BLOCKS)
@pytest.mark.parametrize("out_channels", [3, 15])
@pytest.mark.parametrize("resolution", [4, 8, 16, 32])
def test_output_shapes(block_type, out_channels, resolution):
    G = build(resolution=resolution, out_channels=out_channels, block_type=block_type)
    assert G.num_ws == G.synthesis.num_ws == 2 * (resolution.bit_length() - 1) - 2
    img = G(torch.randn(2, Z))
    assert img.shape == (2, out_channels, resolution, resolution)
    assert img.dtype == torch.float32 and torch.isfinite(img).all()
    ws = G.mapping(torch.randn(2, Z))
    assert ws.shape == (2, G.num_ws, Z)
    assert G.synthesis(ws, noise_mode="none").shape == (2, out_channels, resolution, resolution)


def test_mapping_defaults_follow_the_paper():
    cfg = MappingConfig()
    assert (cfg.z_dim, cfg.w_dim, cfg.num_layers, cfg.lr_multiplier, cfg.w_avg_beta) == (512, 512, 8, 0.01, 0.995)
    assert GeneratorConfig().style_mixing_prob == 0.9
    assert SynthesisConfig().block_type == "stylegan2"
    assert tiny_config(num_layers=8).build().mapping.layers[0].lr_multiplier == 0.01


@pytest.mark.parametrize("block_type", BLOCKS)
def test_conv_clamp_bounds_every_layer(block_type):
    G = build(conv_clamp=0.05, block_type=block_type).eval()
    with torch.no_grad():
        outs, img = _layer_outputs(G, G.mapping(torch.randn(2, Z)))
    if block_type == "stylegan2":  # every conv / toRGB output is clamped; the skip image sums them
        for name, (_, out) in outs.items():
            assert out.abs().max() <= 0.05 + 1e-6, name
    else:  # AdaIN re-styles after each clamp; the single final toRGB is clamped
        assert img.abs().max() <= 0.05 + 1e-6


def test_w_avg_tracks_an_ema_in_training_only():
    G = build()
    beta = G.config.mapping.w_avg_beta
    z = torch.randn(4, Z)
    G.train()
    before = G.mapping.w_avg.clone()
    with torch.no_grad():
        w = G.mapping.layers(z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8))
    G.mapping(z)
    torch.testing.assert_close(G.mapping.w_avg, beta * before + (1 - beta) * w.mean(0))
    after = G.mapping.w_avg.clone()
    G.mapping(z, update_w_avg=False)
    G.eval()
    G(z)
    torch.testing.assert_close(G.mapping.w_avg, after)
    G.mapping(z, update_w_avg=True)
    assert not torch.equal(G.mapping.w_avg, after)


def _fill_w_avg(G: Generator) -> None:
    G.train()
    with torch.no_grad():
        for _ in range(20):
            G.mapping(torch.randn(8, Z), update_w_avg=True)
    G.eval()
    assert G.mapping.w_avg.abs().sum() > 0


@pytest.mark.parametrize("block_type", BLOCKS)
def test_truncation_psi_zero_gives_the_w_avg_image(block_type):
    G = build(block_type=block_type)
    _fill_w_avg(G)
    z = torch.randn(3, Z)
    with torch.no_grad():
        img = G(z, truncation_psi=0.0, noise_mode="const")
        w_avg = G.mapping.w_avg.reshape(1, 1, Z).expand(3, G.num_ws, Z)
        ref = G.synthesis(w_avg, noise_mode="const")
    torch.testing.assert_close(img, ref)
    torch.testing.assert_close(img[0], img[2])  # every z collapses to the same image


def test_truncation_cutoff_and_psi():
    G = build()
    _fill_w_avg(G)
    z = torch.randn(2, Z)
    with torch.no_grad():
        ws = G.mapping(z)
        half = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    avg = G.mapping.w_avg
    torch.testing.assert_close(half[:, :2], avg + 0.5 * (ws[:, :2] - avg))
    torch.testing.assert_close(half[:, 2:], ws[:, 2:])


def _layer_outputs(G: Generator, ws: torch.Tensor) -> tuple[dict[str, tuple[int, torch.Tensor]], torch.Tensor]:
    """Output of every styled layer (those with a ``w_index``) and the image."""
    outs: dict[str, tuple[int, torch.Tensor]] = {}
    handles = [
        m.register_forward_hook(lambda mod, args, out, name=name: outs.__setitem__(name, (mod.w_index, out)))
        for name, m in G.synthesis.named_modules()
        if hasattr(m, "w_index")
    ]
    with torch.no_grad():
        img = G.synthesis(ws, noise_mode="const")
    for h in handles:
        h.remove()
    return outs, img


@pytest.mark.parametrize("block_type", BLOCKS)
@pytest.mark.parametrize("crossover", [1, 3, 5])
def test_style_mixing_changes_only_layers_after_the_crossover(block_type, crossover):
    G = build(block_type=block_type).eval()  # resolution 16: num_ws = 6
    z1, z2 = torch.randn(2, Z), torch.randn(2, Z)
    with torch.no_grad():
        ws1, ws2 = G.mapping(z1), G.mapping(z2)
    mixed = mix_styles(ws1, ws2, crossover)
    torch.testing.assert_close(mixed[:, :crossover], ws1[:, :crossover])
    torch.testing.assert_close(mixed[:, crossover:], ws2[:, crossover:])
    plain, img_plain = _layer_outputs(G, ws1)
    mix, img_mix = _layer_outputs(G, mixed)
    assert {i for i, _ in plain.values()} == set(range(G.num_ws))
    for name, (index, out) in plain.items():
        if index < crossover:
            torch.testing.assert_close(mix[name][1], out, msg=f"{name} (w {index}) changed")
        else:
            assert not torch.allclose(mix[name][1], out), f"{name} (w {index}) unchanged"
    assert not torch.allclose(img_mix, img_plain)


def test_style_mixing_in_training_mode():
    G = build(style_mixing_prob=1.0)
    z = torch.randn(3, Z)
    with torch.no_grad():
        plain = G.mapping(z, update_w_avg=False)
        G.train()
        cuts = set()
        for seed in range(12):
            ws = G.map(z, update_w_avg=False, generator=torch.Generator().manual_seed(seed))
            same = [torch.equal(ws[:, i], plain[:, i]) for i in range(G.num_ws)]
            cut = same.index(False)
            assert all(same[:cut]) and not any(same[cut:]), same
            assert torch.equal(ws[:, cut:], ws[:, cut : cut + 1].expand_as(ws[:, cut:]))  # one second w
            cuts.add(cut)
        assert cuts <= set(range(1, G.num_ws)) and len(cuts) > 1
        again = G.map(z, update_w_avg=False, generator=torch.Generator().manual_seed(11))
        torch.testing.assert_close(again, ws)
        # Never in eval mode, never with prob 0, unless explicitly requested.
        G.eval()
        torch.testing.assert_close(G.map(z, generator=torch.Generator().manual_seed(0)), plain)
        assert not torch.equal(G.map(z, style_mixing=True, generator=torch.Generator().manual_seed(0)), plain)
        G0 = build(style_mixing_prob=0.0).train()
        torch.testing.assert_close(G0.map(z, update_w_avg=False), G0.mapping(z, update_w_avg=False))


@pytest.mark.parametrize("block_type", BLOCKS)
def test_determinism(block_type):
    G1, G2 = build(seed=3, block_type=block_type).eval(), build(seed=3, block_type=block_type).eval()
    for (k1, v1), (k2, v2) in zip(G1.state_dict().items(), G2.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    torch.manual_seed(9)
    z = torch.randn(2, Z)
    with torch.no_grad():
        a, b, c = G1(z, noise_mode="const"), G1(z, noise_mode="const"), G2(z, noise_mode="const")
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(a, c, rtol=0, atol=0)
        # Training mode with a seeded generator: mixing and random noise reproduce too.
        G1.train()
        G2.train()
        r1 = G1(z, update_w_avg=False, generator=torch.Generator().manual_seed(5))
        r2 = G2(z, update_w_avg=False, generator=torch.Generator().manual_seed(5))
        torch.testing.assert_close(r1, r2, rtol=0, atol=0)


@pytest.mark.parametrize("block_type", BLOCKS)
def test_gradients_reach_every_parameter(block_type):
    G = build(block_type=block_type, resolution=8).train()
    img = G(torch.randn(4, Z), generator=torch.Generator().manual_seed(0))
    img.sum().backward()
    for name, p in G.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: SynthesisConfig(resolution=12), "resolution"),
        (lambda: SynthesisConfig(resolution=2), "resolution"),
        (lambda: SynthesisConfig(out_channels=0), "out_channels"),
        (lambda: SynthesisConfig(block_type="progan"), "block_type"),
        (lambda: SynthesisConfig(resolution=64, channel_base=32), "channel_base"),
        (lambda: SynthesisConfig(conv_clamp=-1.0), "conv_clamp"),
        (lambda: SynthesisConfig(resample_filter=()), "resample_filter"),
        (lambda: MappingConfig(num_layers=0), "num_layers"),
        (lambda: MappingConfig(lr_multiplier=0.0), "lr_multiplier"),
        (lambda: MappingConfig(lr_multiplier=-0.01), "lr_multiplier"),
        (lambda: MappingConfig(w_avg_beta=1.5), "w_avg_beta"),
        (lambda: MappingConfig(z_dim=0), "z_dim"),
        (lambda: GeneratorConfig(style_mixing_prob=1.5), "style_mixing_prob"),
        (lambda: GeneratorConfig(style_mixing_prob=-0.1), "style_mixing_prob"),
        (lambda: GeneratorConfig(mapping=MappingConfig(w_dim=64), synthesis=SynthesisConfig(w_dim=32)), "w_dim"),
        (lambda: GeneratorConfig(mapping={"z_dim": 3}), "mapping"),
    ],
)
def test_bad_configs_name_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_bad_inputs_name_the_argument():
    G = build(resolution=8)
    for bad in (torch.randn(2, Z + 1), torch.randn(Z), torch.zeros(2, Z, dtype=torch.int64), [0.0] * Z):
        with pytest.raises(ValueError, match="z"):
            G(bad)
    with pytest.raises(ValueError, match="noise_mode"):
        G(torch.randn(2, Z), noise_mode="fixed")
    with pytest.raises(ValueError, match="truncation_cutoff"):
        G(torch.randn(2, Z), truncation_cutoff=-1)
    with pytest.raises(ValueError, match="truncation_psi"):
        G(torch.randn(2, Z), truncation_psi="0.7")
    with pytest.raises(ValueError, match="ws"):
        G.synthesis(torch.randn(2, G.num_ws + 1, Z))
