"""The conformance contract every interchangeable component of gan3dlib must meet.

A component is registered as a :class:`Component`: its config (a frozen dataclass with
``build()``), a function making example inputs, a function running it, and the expected output
shape. :func:`check_component` then asserts, with no component-specific code:

1. it is built from its config alone, and the config survives a JSON round trip;
2. output shape and dtype are as declared;
3. gradients reach every trainable parameter (and, for parameter-free components, the inputs);
4. a safetensors save/load round trip (config JSON + weights) reproduces the output exactly;
5. the output is deterministic under a fixed seed.

A new network type, shape parametrisation or renderer mode/backend is added by listing it in
``tests/test_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from gan3dlib.config import from_json, to_json


@dataclass
class Component:
    name: str
    config: Any
    make_inputs: Callable[[torch.Generator], tuple[torch.Tensor, ...]]
    run: Callable[[Any, tuple[torch.Tensor, ...], torch.Generator], torch.Tensor]
    output_shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32


def _output(component: Component, module: Any, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    inputs = component.make_inputs(g)
    return component.run(module, inputs, torch.Generator().manual_seed(seed + 1))


def check_component(component: Component, tmp_path) -> None:
    # 1. Built from the config alone; the config round-trips through JSON exactly.
    config = from_json(type(component.config), to_json(component.config))
    assert config == component.config
    torch.manual_seed(0)
    module = config.build()

    # 2. Output shape and dtype.
    out = _output(component, module)
    assert tuple(out.shape) == component.output_shape, (component.name, tuple(out.shape))
    assert out.dtype == component.dtype
    assert bool(torch.isfinite(out).all())

    # 3. Gradients reach every parameter (or the inputs of parameter-free components).
    g = torch.Generator().manual_seed(0)
    inputs = tuple(x.clone().requires_grad_(x.is_floating_point()) for x in component.make_inputs(g))
    out = component.run(module, inputs, torch.Generator().manual_seed(1))
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
    params = [p for p in module.parameters() if p.requires_grad] if hasattr(module, "parameters") else []
    targets = params or [x for x in inputs if x.requires_grad]
    grads = torch.autograd.grad((out * weights).sum(), targets, allow_unused=True)
    names = [n for n, p in module.named_parameters() if p.requires_grad] if params else [f"input{i}" for i in range(len(targets))]
    dead = [name for name, grad in zip(names, grads) if grad is None or float(grad.abs().sum()) == 0.0]
    assert not dead, f"{component.name}: no gradient reaches {dead}"

    # 4. Save (config JSON + safetensors) and load into a freshly built module: identical output.
    if hasattr(module, "state_dict") and module.state_dict():
        (tmp_path / "config.json").write_text(to_json(config))
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / "model.safetensors"))
        torch.manual_seed(123)  # a different initialisation, overwritten by the load
        loaded = from_json(type(config), (tmp_path / "config.json").read_text()).build()
        loaded.load_state_dict(load_file(str(tmp_path / "model.safetensors")), strict=True)
        torch.testing.assert_close(_output(component, loaded), _output(component, module), rtol=0, atol=0)

    # 5. Deterministic under a fixed seed.
    torch.testing.assert_close(_output(component, module, seed=7), _output(component, module, seed=7), rtol=0, atol=0)
