"""The numpy interpreter of a :class:`~rlactors.networks.spec.NetworkSpec`, for acting only.

It computes what :class:`~rlactors.networks.torch_module.SpecNetwork` computes, on the same
named float32 parameters, without torch (see :mod:`rlactors.networks.spec` for why). Only the
heads asked for are computed, and only the torsos they read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from rlactors.networks.spec import MASKED, EncoderSpec, HeadSpec, Layer, NetworkSpec


def forward(
    spec: NetworkSpec,
    params: Mapping[str, np.ndarray],
    obs: np.ndarray,
    outputs: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """The network's outputs for a batch of observations.

    Args:
        spec: The network.
        params: Its parameters, ``{name: float32 array}`` as ``spec.parameter_shapes()``.
        obs: ``[B, *layout.shape]`` observations as they travel (packed rows for Dict/Tuple).
        outputs: Head outputs to compute (default: all).

    Returns:
        ``{output: array}``: ``[B, width]`` float32, or ``[B]`` for a squeezed head.
    """
    features = encode(spec.encoder, params, obs)
    heads = [h for h in spec.heads if outputs is None or h.output in outputs]
    torso_out: dict[str, np.ndarray] = {}
    results: dict[str, np.ndarray] = {}
    for head in heads:
        if head.torso not in torso_out:
            torso = spec.torso(head.torso)
            x = torso.select(features, lambda xs: np.concatenate(xs, axis=1))
            for layer in torso.layers:
                x = _linear(params, layer, x)
                x = np.tanh(x) if torso.activation == "tanh" else np.maximum(x, 0.0, out=x)
            torso_out[head.torso] = x
        results[head.output] = _head(head, params, torso_out[head.torso], spec.encoder, obs)
    return results


def encode(encoder: EncoderSpec, params: Mapping[str, np.ndarray], obs: np.ndarray) -> np.ndarray:
    """``[B, features]`` float32 encoder output of ``[B, *layout.shape]`` observations."""
    layout = encoder.layout
    array = np.asarray(obs)
    batch = len(array)
    if encoder.kind == "cnn":
        x = array.astype(np.float32) * np.float32(encoder.scale)
        if encoder.channels_last:
            x = x.transpose(0, 3, 1, 2)
        for layer in encoder.convs:
            x = np.maximum(_conv2d(params, layer, x), 0.0)
        return x.reshape(batch, -1)
    if not layout.packed:
        part = layout.parts[0]
        if part.kind == "discrete":
            return _one_hot(array.reshape(batch, 1) - part.starts[0], part.nvec)
        if part.kind == "multidiscrete":
            return _one_hot(array.reshape(batch, -1) - np.asarray(part.starts), part.nvec)
        return array.reshape(batch, -1).astype(np.float32, copy=False)
    pieces = []
    for part in layout.input_parts:
        values = array[:, part.offset : part.offset + part.size]
        if part.kind in ("discrete", "multidiscrete"):
            pieces.append(_one_hot(values, part.nvec))
        else:
            pieces.append(values.astype(np.float32, copy=False))
    return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]


def _head(
    head: HeadSpec,
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    encoder: EncoderSpec,
    obs: np.ndarray,
) -> np.ndarray:
    out: np.ndarray
    legal = encoder.layout.mask(np.asarray(obs)) if head.masked else None
    if head.kind == "dueling":
        value = _linear(params, head.layers[0], x)
        advantage = _linear(params, head.layers[1], x)
        if legal is None:
            out = value + advantage - advantage.mean(axis=1, keepdims=True)
        else:
            # Centred over the legal actions only: an illegal action's advantage is no part
            # of any Q-value that is used (a row with none legal is centred on 0).
            count = np.maximum(legal.sum(axis=1, keepdims=True), 1)
            out = value + advantage - (advantage * legal).sum(axis=1, keepdims=True) / count
    else:
        out = _linear(params, head.layers[0], x)
    if legal is not None:
        out = np.where(legal, out, np.float32(MASKED))
    if head.squeeze:
        squeezed: np.ndarray = out[:, 0]
        return squeezed
    return out


def _linear(params: Mapping[str, np.ndarray], layer: Layer, x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x @ params[f"{layer.name}.weight"].T + params[f"{layer.name}.bias"]
    return out


def _conv2d(params: Mapping[str, np.ndarray], layer: Layer, x: np.ndarray) -> np.ndarray:
    """``[B, C, H, W]`` -> ``[B, O, H', W']``, valid padding, as ``torch.nn.functional.conv2d``."""
    k, s = layer.kernel, layer.stride
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    weight = params[f"{layer.name}.weight"]
    # [B, C, H', W', k, k] x [O, C, k, k] -> [B, H', W', O]
    out: np.ndarray = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))
    result: np.ndarray = (out + params[f"{layer.name}.bias"]).transpose(0, 3, 1, 2)
    return result


def _one_hot(indices: np.ndarray, nvec: tuple[int, ...]) -> np.ndarray:
    """``[B, k]`` indices, slot ``j`` of ``nvec[j]`` values -> ``[B, sum(nvec)]`` float32."""
    batch = len(indices)
    out = np.zeros((batch, sum(nvec)), dtype=np.float32)
    offsets = np.cumsum((0, *nvec[:-1]))
    index = np.asarray(indices).astype(np.int64)
    outside = (index < 0) | (index >= np.asarray(nvec))
    if outside.any():
        # numpy would wrap a negative index, and a large one would set the next slot's bit
        # (torch's one_hot raises on both): say so rather than act on a wrong encoding.
        raise ValueError(
            f"one-hot: indices {index[outside][:5].tolist()} are outside [0, n) for n = {nvec}"
        )
    columns = index + offsets
    out[np.arange(batch)[:, None], columns] = 1.0
    return out
