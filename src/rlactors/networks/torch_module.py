"""The torch interpreter of a :class:`~rlactors.networks.spec.NetworkSpec`: a trainable module.

:class:`SpecNetwork` registers one parameter per entry of ``spec.parameter_shapes()`` under
exactly that name (``state_dict()`` keys are the spec's names), and its forward pass computes
what :func:`rlactors.networks.numpy_forward.forward` computes. Initialisation draws from torch's
global generator in the order ``torch.nn.Linear`` / ``Conv2d`` modules built in the spec's
construction order would, then (``orthogonal``) re-draws in the same order OpenAI Baselines'
initialisation did: a seed gives the same network as the ``nn.Sequential`` modules this spec
replaced. Callers seed it inside ``torch.random.fork_rng()``.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import torch
from torch import nn
from torch.nn import functional

from rlactors.networks.spec import MASKED, EncoderSpec, HeadSpec, Layer, NetworkSpec


class SpecNetwork(nn.Module):
    """A :class:`NetworkSpec` as an ``nn.Module``: observations -> ``{output: tensor}``.

    Args:
        spec: The network.
    """

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.spec = spec
        self._layers: dict[str, tuple[nn.Parameter, nn.Parameter]] = {}
        for layer in spec.layers():
            weight = nn.Parameter(torch.empty(layer.weight_shape))
            bias = nn.Parameter(torch.empty(layer.fan_out))
            # nn.Linear's and nn.Conv2d's reset_parameters: weight then bias, per layer.
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            bound = 1.0 / math.sqrt(layer.init_fan_in)
            nn.init.uniform_(bias, -bound, bound)
            _install(self, f"{layer.name}.weight", weight)
            _install(self, f"{layer.name}.bias", bias)
            self._layers[layer.name] = (weight, bias)
        self._free: dict[str, nn.Parameter] = {}
        for name, shape, value in spec.free:
            param = nn.Parameter(torch.full(shape, value))
            _install(self, name, param)
            self._free[name] = param
        if spec.init == "orthogonal":
            with torch.no_grad():
                for layer in spec.layers():
                    weight, bias = self._layers[layer.name]
                    nn.init.orthogonal_(weight, gain=layer.gain)
                    nn.init.zeros_(bias)

    def free(self, name: str) -> nn.Parameter:
        """The free parameter ``name`` (e.g. ``log_std``)."""
        return self._free[name]

    def forward(
        self, obs: torch.Tensor, outputs: Collection[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """The network's outputs.

        Args:
            obs: ``[B, *layout.shape]`` observations as they travel (packed rows for Dict and
                Tuple spaces; any dtype: the encoder casts).
            outputs: Head outputs to compute (default: all); only the torsos they read run.

        Returns:
            ``{output: tensor}``: ``[B, width]`` float32, or ``[B]`` for a squeezed head.
        """
        spec = self.spec
        features = self._encode(spec.encoder, obs)
        torso_out: dict[str, torch.Tensor] = {}
        results: dict[str, torch.Tensor] = {}
        for head in spec.heads:
            if outputs is not None and head.output not in outputs:
                continue
            if head.torso not in torso_out:
                torso = spec.torso(head.torso)
                x = torso.select(features, lambda xs: torch.cat(xs, dim=1))
                for layer in torso.layers:
                    x = self._linear(layer, x)
                    x = torch.tanh(x) if torso.activation == "tanh" else torch.relu(x)
                torso_out[head.torso] = x
            results[head.output] = self._head(head, torso_out[head.torso], obs)
        return results

    def _encode(self, encoder: EncoderSpec, obs: torch.Tensor) -> torch.Tensor:
        layout = encoder.layout
        batch = obs.shape[0]
        if encoder.kind == "cnn":
            x = obs.float() * encoder.scale if encoder.scale != 1.0 else obs.float()
            if encoder.channels_last:
                x = x.permute(0, 3, 1, 2)
            for layer in encoder.convs:
                weight, bias = self._layers[layer.name]
                x = torch.relu(functional.conv2d(x, weight, bias, stride=layer.stride))
            return x.reshape(batch, -1)
        if not layout.packed:
            part = layout.parts[0]
            if part.kind in ("discrete", "multidiscrete"):
                starts = torch.as_tensor(part.starts)
                return _one_hot(obs.reshape(batch, -1) - starts, part.nvec)
            return obs.reshape(batch, -1).float()
        pieces = []
        for part in layout.input_parts:
            values = obs[:, part.offset : part.offset + part.size]
            if part.kind in ("discrete", "multidiscrete"):
                pieces.append(_one_hot(values, part.nvec))
            else:
                pieces.append(values.float())
        return torch.cat(pieces, dim=1) if len(pieces) > 1 else pieces[0]

    def _head(self, head: HeadSpec, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        legal = self.spec.encoder.layout.mask(obs) if head.masked else None
        if head.kind == "dueling":
            value = self._linear(head.layers[0], x)
            advantage = self._linear(head.layers[1], x)
            if legal is None:
                out = value + advantage - advantage.mean(dim=1, keepdim=True)
            else:
                # Centred over the legal actions only (see the numpy interpreter).
                weights = legal.float()
                count = weights.sum(dim=1, keepdim=True).clamp(min=1.0)
                out = value + advantage - (advantage * weights).sum(dim=1, keepdim=True) / count
        else:
            out = self._linear(head.layers[0], x)
        if legal is not None:
            out = torch.where(legal, out, torch.full_like(out, MASKED))
        return out.squeeze(-1) if head.squeeze else out

    def _linear(self, layer: Layer, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self._layers[layer.name]
        return functional.linear(x, weight, bias)


def _install(root: nn.Module, dotted: str, param: nn.Parameter) -> None:
    """Registers ``param`` so that ``root.state_dict()`` names it ``dotted``, creating the
    empty submodules its prefixes name (``torso.0.weight``: submodules ``torso`` and ``0``)."""
    *path, leaf = dotted.split(".")
    module = root
    for name in path:
        child = module._modules.get(name)
        if child is None:
            child = nn.Module()
            module.add_module(name, child)
        module = child
    module.register_parameter(leaf, param)


def _one_hot(indices: torch.Tensor, nvec: tuple[int, ...]) -> torch.Tensor:
    """``[B, k]`` indices, slot ``j`` of ``nvec[j]`` values -> ``[B, sum(nvec)]`` float32."""
    if len(nvec) == 1:
        return functional.one_hot(indices.reshape(-1).long(), nvec[0]).float()
    parts = [functional.one_hot(indices[:, j].long(), n).float() for j, n in enumerate(nvec)]
    return torch.cat(parts, dim=1)
