"""A network as data: an encoder chosen from the observation space, MLP torsos, and heads.

One :class:`NetworkSpec` is the single definition of a network. Two interpreters run it on the
same named parameters: :mod:`rlactors.networks.torch_module` (learners, and acting where torch is
loaded anyway) and :mod:`rlactors.networks.numpy_forward` (evaluator processes, which then never
import torch: they start in ~0.3 s instead of ~1.5 s and act on a few rows ~3x faster). Neither
interpreter knows a parameter name: both read them from the spec.

The parts:

* **Encoder** (:class:`EncoderSpec`), from :class:`~rlactors.envs.observations.ObservationLayout`:
  ``flat`` reads every input leaf — Box leaves flattened, Discrete and MultiDiscrete leaves
  one-hot encoded, MultiBinary leaves as floats — and concatenates them (``[B, F]``; a flat Box
  observation is just flattened, as before this spec existed); ``cnn`` runs convolutions over an
  image-shaped Box (``[H, W, C]`` or ``[C, H, W]``; uint8 pixels are scaled to [0, 1] inside the
  network) and flattens the result.
* **Torsos** (:class:`TorsoSpec`): MLPs over the encoder's features, named as their layers'
  parameters are (``torso.0``, ``torso.2``, ...: the indices an ``nn.Sequential`` of linear and
  activation layers gives, which keeps the names of checkpoints written before this spec).
* **Heads** (:class:`HeadSpec`): ``linear`` (Q-values, logits, Gaussian means, a value) or
  ``dueling`` (``Q = V + A - mean(A)``, Wang et al., 2016), each over one torso's output. A
  head marked ``masked`` sets the outputs of illegal actions to :data:`MASKED` when the
  observation carries an action mask (and a dueling one centres over the legal actions).

Initialisation is part of the spec, so both interpreters draw the same distributions:
``default`` is ``torch.nn.Linear``'s (uniform in ``+-1/sqrt(fan_in)``), ``orthogonal`` is
OpenAI Baselines' (orthogonal weights with each layer's :attr:`Layer.gain`, zero biases).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlactors.envs.observations import DEFAULT_MASK_KEY, ObservationLayout
from rlactors.errors import SpaceError

#: What a masked head outputs for an illegal action: finite (so 0 * MASKED is 0 in a target
#: whose discount is 0, where -inf would give NaN), and far below any real Q-value or logit.
MASKED = -1e9

Activation = Literal["relu", "tanh"]
Init = Literal["default", "orthogonal"]


@dataclass(frozen=True)
class Layer:
    """A linear layer (``kernel == 0``) or a 2-D convolution, and its parameters' names.

    Attributes:
        name: Parameters are ``{name}.weight`` and ``{name}.bias``.
        fan_in: Input features (linear) or input channels (convolution).
        fan_out: Output features or channels.
        kernel: Convolution kernel size (square); 0 for a linear layer.
        stride: Convolution stride.
        gain: Scale of an orthogonal initialisation.
    """

    name: str
    fan_in: int
    fan_out: int
    kernel: int = 0
    stride: int = 1
    gain: float = 1.0

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``[out, in]`` (linear) or ``[out, in, k, k]`` (convolution), as torch lays them."""
        if self.kernel:
            return (self.fan_out, self.fan_in, self.kernel, self.kernel)
        return (self.fan_out, self.fan_in)

    @property
    def init_fan_in(self) -> int:
        """Inputs feeding one output, for the default initialisation's bound."""
        return self.fan_in * max(self.kernel, 1) ** 2


@dataclass(frozen=True)
class EncoderSpec:
    """Observations ``[B, *layout.shape]`` -> features ``[B, features]`` (module docstring).

    Attributes:
        layout: The observation space's packed layout.
        kind: ``flat`` or ``cnn``.
        convs: The convolutions of a ``cnn`` encoder (ReLU after each), in order.
        channels_last: A ``cnn`` encoder's input is ``[H, W, C]`` (else ``[C, H, W]``).
        scale: Factor applied to a ``cnn`` encoder's input (1/255 for uint8 pixels).
        features: Width of the output.
    """

    layout: ObservationLayout
    kind: Literal["flat", "cnn"]
    convs: tuple[Layer, ...]
    channels_last: bool
    scale: float
    features: int


@dataclass(frozen=True)
class TorsoSpec:
    """An MLP over the encoder's features: each layer followed by ``activation``.

    Attributes:
        name: Its layers are ``{name}.{2i}`` (see the module docstring).
        layers: The linear layers, in order; empty for an identity torso.
        activation: The nonlinearity after every layer.
        inputs: The ranges ``[start, stop)`` of the encoder's features it reads, concatenated
            in order (None: all of them). A centralized critic's extra observation parts are
            left out of the actor's torso this way.
    """

    name: str
    layers: tuple[Layer, ...]
    activation: Activation
    inputs: tuple[tuple[int, int], ...] | None = None

    def select(self, features: Any, concat: Callable[[list[Any]], Any]) -> Any:
        """The columns of ``features`` ``[B, F]`` this torso reads; ``concat`` joins column
        blocks along axis 1 (``np.concatenate`` or ``torch.cat``: the interpreter's)."""
        if self.inputs is None:
            return features
        pieces = [features[:, a:b] for a, b in self.inputs]
        return pieces[0] if len(pieces) == 1 else concat(pieces)

    @property
    def features(self) -> int | None:
        """Output width, or None for an identity torso (the encoder's width)."""
        return self.layers[-1].fan_out if self.layers else None


@dataclass(frozen=True)
class HeadSpec:
    """One output of the network.

    Attributes:
        output: Name of the output (``q``, ``logits``, ``mean``, ``value``).
        kind: ``linear`` (one layer) or ``dueling`` (a value and an advantage layer).
        torso: The torso it reads.
        layers: ``(layer,)`` or, dueling, ``(value layer, advantage layer)``.
        masked: Illegal actions' outputs become :data:`MASKED` (needs an action mask).
        squeeze: The output has width 1 and is returned as ``[B]`` (a value head).
    """

    output: str
    kind: Literal["linear", "dueling"]
    torso: str
    layers: tuple[Layer, ...]
    masked: bool = False
    squeeze: bool = False


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: encoder, torsos, heads, free parameters and their initialisation.

    Attributes:
        encoder: The encoder.
        torsos: The torsos, by name.
        heads: The heads; their outputs are what the interpreters return.
        free: Parameters used as they are (a Gaussian actor's ``log_std``): name, shape, value.
        init: ``default`` or ``orthogonal`` (module docstring).
    """

    encoder: EncoderSpec
    torsos: tuple[TorsoSpec, ...]
    heads: tuple[HeadSpec, ...]
    free: tuple[tuple[str, tuple[int, ...], float], ...] = ()
    init: Init = "default"

    def torso(self, name: str) -> TorsoSpec:
        """The torso called ``name``."""
        return next(t for t in self.torsos if t.name == name)

    def head(self, output: str) -> HeadSpec:
        """The head whose output is ``output``."""
        return next(h for h in self.heads if h.output == output)

    def layers(self) -> tuple[Layer, ...]:
        """Every layer in construction order: encoder, torsos, heads (the order both
        interpreters draw initial values in)."""
        found = [*self.encoder.convs]
        for torso in self.torsos:
            found += torso.layers
        for head in self.heads:
            found += head.layers
        return tuple(found)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of every parameter, in construction order."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.layers():
            shapes[f"{layer.name}.weight"] = layer.weight_shape
            shapes[f"{layer.name}.bias"] = (layer.fan_out,)
        for name, shape, _ in self.free:
            shapes[name] = shape
        return shapes

    def initial_parameters(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Freshly initialised float32 parameters, drawn from ``rng`` as :attr:`init` says.

        The torch interpreter draws the same distributions from torch's generator (so its
        draws equal those of the ``nn.Linear`` modules used before this spec).
        """
        params: dict[str, np.ndarray] = {}
        for layer in self.layers():
            if self.init == "orthogonal":
                flat = orthogonal(rng, layer.fan_out, int(np.prod(layer.weight_shape[1:])))
                weight = (layer.gain * flat).reshape(layer.weight_shape)
                bias = np.zeros(layer.fan_out)
            else:
                bound = 1.0 / math.sqrt(layer.init_fan_in)
                weight = rng.uniform(-bound, bound, layer.weight_shape)
                bias = rng.uniform(-bound, bound, layer.fan_out)
            params[f"{layer.name}.weight"] = weight.astype(np.float32)
            params[f"{layer.name}.bias"] = bias.astype(np.float32)
        for name, shape, value in self.free:
            params[name] = np.full(shape, value, np.float32)
        return params


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A random ``[rows, cols]`` matrix with orthonormal rows or columns (QR of a Gaussian
    matrix, signs fixed by R's diagonal, as ``torch.nn.init.orthogonal_``)."""
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    result: np.ndarray = q if rows >= cols else q.T
    return result


# -- builders --------------------------------------------------------------------------------


def encoder_spec(
    observation_space: gym.Space[Any],
    *,
    mask_key: str,
    encoder: Literal["auto", "flat", "cnn"] = "auto",
    owner: str = "network",
) -> EncoderSpec:
    """The encoder for ``observation_space``: ``cnn`` for an image-shaped Box (3 dimensions,
    each spatial one at least 8) unless ``encoder`` says otherwise, else ``flat``.

    Raises:
        SpaceError: The space has no layout, or ``encoder="cnn"`` for a space that is not an
            image-shaped Box; the message names ``owner``.
    """
    layout = ObservationLayout.of(observation_space, mask_key)
    if mask_key != DEFAULT_MASK_KEY and layout.mask_part is None:
        # A key the user named that is not there: masking nothing would be a silent failure.
        raise SpaceError(
            f"{owner}: action_mask_key {mask_key!r} names no leaf of the observation space "
            f"{observation_space}"
        )
    image = (
        _image_axes(layout.shape)
        if not layout.packed and isinstance(observation_space, gym.spaces.Box)
        else None
    )
    if encoder == "cnn" and image is None:
        got = (
            f"a Box of shape {tuple(observation_space.shape)}"
            if isinstance(observation_space, gym.spaces.Box)
            else str(observation_space)
        )
        raise SpaceError(
            f"{owner}: encoder 'cnn' needs an image-shaped Box observation ([H, W, C] or "
            f"[C, H, W], each side at least 8), got {got}"
        )
    if encoder == "flat" or image is None:
        features = sum(part.features for part in layout.input_parts)
        return EncoderSpec(layout, "flat", (), False, 1.0, features)
    channels_last, channels, height, width = image
    # Nature DQN's convolutions (Mnih et al., 2015) for Atari-sized frames; one small layer
    # (MinAtar's reference network, Young and Tian, 2019) for small ones.
    design = [(32, 8, 4), (64, 4, 2), (64, 3, 1)] if min(height, width) >= 36 else [(16, 3, 1)]
    convs: list[Layer] = []
    fan_in = channels
    for i, (out, kernel, stride) in enumerate(design):
        convs.append(Layer(f"encoder.{2 * i}", fan_in, out, kernel, stride, math.sqrt(2.0)))
        fan_in = out
        height = (height - kernel) // stride + 1
        width = (width - kernel) // stride + 1
    scale = 1.0 / 255.0 if np.dtype(layout.dtype) == np.uint8 else 1.0
    return EncoderSpec(layout, "cnn", tuple(convs), channels_last, scale, fan_in * height * width)


def _image_axes(shape: tuple[int, ...]) -> tuple[bool, int, int, int] | None:
    """``(channels_last, C, H, W)`` of an image-shaped observation, or None if ``shape`` is not
    one (3 dimensions, both spatial sides at least 8)."""
    if len(shape) != 3:
        return None
    # A trailing dimension no larger than the leading one holds the channels (MinAtar's
    # 10x10xC, Atari 84x84x4); Gymnasium's frame stacks lead with them (4x84x84).
    channels_last = shape[-1] <= shape[0]
    channels, height, width = (shape[2], shape[0], shape[1]) if channels_last else shape
    if min(height, width) < 8:
        return None
    return channels_last, channels, height, width


def mlp_torso(
    name: str, fan_in: int, hidden_sizes: tuple[int, ...], activation: Activation
) -> TorsoSpec:
    """An MLP torso of ``hidden_sizes`` over ``fan_in`` features (orthogonal gain sqrt(2))."""
    layers = []
    for i, width in enumerate(hidden_sizes):
        layers.append(Layer(f"{name}.{2 * i}", fan_in, width, gain=math.sqrt(2.0)))
        fan_in = width
    return TorsoSpec(name, tuple(layers), activation)


def q_network_spec(
    observation_space: gym.Space[Any],
    num_actions: int,
    *,
    hidden_sizes: tuple[int, ...],
    dueling: bool,
    mask_key: str,
    encoder: Literal["auto", "flat", "cnn"] = "auto",
) -> NetworkSpec:
    """A Q-network: encoder, a ReLU torso ``torso``, and a (dueling) head ``q`` ``[B, A]``.

    Raises:
        SpaceError: The space has no layout, or its action mask is not ``num_actions`` long.
    """
    enc = encoder_spec(observation_space, mask_key=mask_key, encoder=encoder, owner="Q-network")
    torso = mlp_torso("torso", enc.features, hidden_sizes, "relu")
    width = torso.features or enc.features
    masked = _check_mask(enc.layout, num_actions, "Q-network")
    if dueling:
        layers: tuple[Layer, ...] = (
            Layer("head.value", width, 1),
            Layer("head.advantage", width, num_actions),
        )
    else:
        layers = (Layer("head", width, num_actions),)
    head = HeadSpec("q", "dueling" if dueling else "linear", "torso", layers, masked)
    return NetworkSpec(enc, (torso,), (head,))


def actor_critic_spec(
    observation_space: gym.Space[Any],
    actor_size: int,
    *,
    gaussian: bool,
    hidden_sizes: tuple[int, ...],
    shared_torso: bool,
    activation: Activation,
    orthogonal_init: bool,
    initial_log_std: float,
    mask_key: str,
    encoder: Literal["auto", "flat", "cnn"] = "auto",
    critic_only_key: str | None = None,
) -> NetworkSpec:
    """An actor-critic: encoder, ``policy_torso`` (and ``value_torso`` unless shared), heads
    ``logits`` ``[B, A]`` or ``mean`` ``[B, K]`` (with free ``log_std`` ``[K]``) and
    ``value`` ``[B]``. With ``critic_only_key``, the Dict observation's parts under that key
    are read by the value torso only (a centralized critic, MAPPO's).

    Raises:
        SpaceError: The space has no layout, or its action mask does not fit the actions; a
            ``critic_only_key`` that names no part, or with a shared torso or a cnn encoder.
    """
    owner = "actor-critic network"
    enc = encoder_spec(observation_space, mask_key=mask_key, encoder=encoder, owner=owner)
    actor_inputs, actor_features = None, enc.features
    if critic_only_key is not None:
        actor_inputs = _feature_ranges_without(enc, critic_only_key, shared_torso, owner)
        actor_features = sum(b - a for a, b in actor_inputs)
    policy_torso = mlp_torso("policy_torso", actor_features, hidden_sizes, activation)
    policy_torso = dataclasses.replace(policy_torso, inputs=actor_inputs)
    torsos = [policy_torso]
    if not shared_torso:
        torsos.append(mlp_torso("value_torso", enc.features, hidden_sizes, activation))
    width = policy_torso.features or actor_features
    if gaussian and enc.layout.mask_part is not None:
        raise SpaceError(f"{owner}: an action mask needs Discrete actions, not a Box")
    masked = False if gaussian else _check_mask(enc.layout, actor_size, owner)
    # A small actor head starts near-uniform / near-zero-mean (Andrychowicz et al., 2021,
    # "What Matters in On-Policy RL"); the critic head keeps unit scale.
    actor = HeadSpec(
        "mean" if gaussian else "logits",
        "linear",
        "policy_torso",
        (Layer("policy_head", width, actor_size, gain=0.01),),
        masked,
    )
    value_torso = "policy_torso" if shared_torso else "value_torso"
    value = HeadSpec(
        "value", "linear", value_torso, (Layer("value_head", width, 1, gain=1.0),), squeeze=True
    )
    free = (("log_std", (actor_size,), float(initial_log_std)),) if gaussian else ()
    init: Init = "orthogonal" if orthogonal_init else "default"
    return NetworkSpec(enc, tuple(torsos), (actor, value), free, init)


def _feature_ranges_without(
    enc: EncoderSpec, key: str, shared_torso: bool, owner: str
) -> tuple[tuple[int, int], ...]:
    """The encoder feature ranges of every input part not under Dict key ``key``."""
    if shared_torso or enc.kind != "flat":
        raise SpaceError(
            f"{owner}: a critic-only observation part needs separate actor and critic torsos "
            "and a flat encoder (shared_torso=False, no cnn)"
        )
    ranges: list[tuple[int, int]] = []
    start, found = 0, False
    for part in enc.layout.input_parts:
        stop = start + part.features
        if part.path[:1] == (key,):
            found = True
        elif ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], stop)  # contiguous with the last: one slice
        else:
            ranges.append((start, stop))
        start = stop
    if not found or not ranges:
        raise SpaceError(
            f"{owner}: the critic-only key {key!r} must name some, not all, of the "
            f"observation's parts ({', '.join(p.name for p in enc.layout.input_parts)})"
        )
    return tuple(ranges)


def _check_mask(layout: ObservationLayout, num_actions: int, owner: str) -> bool:
    part = layout.mask_part
    if part is None:
        return False
    if part.size != num_actions:
        raise SpaceError(
            f"{owner}: the action mask {part.name!r} has {part.size} entries but the action "
            f"space has {num_actions} actions"
        )
    return True
