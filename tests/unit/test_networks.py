"""rlactors.networks and envs/observations: packed layouts, encoders, masks, and the two
interpreters of one spec computing the same numbers."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.envs.observations import ObservationLayout
from rlactors.errors import SpaceError
from rlactors.networks import MASKED, actor_critic_spec, encoder_spec, q_network_spec
from rlactors.networks.numpy_forward import encode, forward
from rlactors.networks.torch_module import SpecNetwork

BOX = gym.spaces.Box(-1.0, 1.0, (2, 3), np.float32)
DICT = gym.spaces.Dict(
    {
        "position": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        "colour": gym.spaces.Discrete(3, start=1),
        "flags": gym.spaces.MultiBinary(2),
        "dice": gym.spaces.MultiDiscrete([2, 4]),
    }
)
MASKED_DICT = gym.spaces.Dict(
    {"observation": gym.spaces.Box(0, 1, (4,), np.int8), "action_mask": gym.spaces.MultiBinary(3)}
)
BLACKJACK = gym.spaces.Tuple(
    (gym.spaces.Discrete(32), gym.spaces.Discrete(11), gym.spaces.Discrete(2))
)
IMAGE_LAST = gym.spaces.Box(0, 255, (10, 10, 4), np.uint8)  # MinAtar-like, channels last
IMAGE_FIRST = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)  # a Gymnasium frame stack


def test_dict_observations_pack_leaves_in_sorted_key_order_with_discrete_indices() -> None:
    layout = ObservationLayout.of(DICT)
    # Gymnasium sorts a Dict's keys: colour, dice, flags, position.
    assert [p.name for p in layout.parts] == ["colour", "dice", "flags", "position"]
    assert layout.packed and layout.shape == (1 + 2 + 2 + 2,) and layout.dtype == np.float32
    obs = {
        "position": np.array([0.5, -0.25], np.float32),
        "colour": 3,
        "flags": np.array([1, 0], np.int8),
        "dice": np.array([1, 3]),
    }
    # colour 3 of Discrete(3, start=1) is index 2.
    np.testing.assert_array_equal(layout.pack(obs), [2, 1, 3, 1, 0, 0.5, -0.25])
    assert sum(p.features for p in layout.parts) == 3 + (2 + 4) + 2 + 2


def test_array_spaces_travel_unchanged_and_tuples_pack() -> None:
    box = ObservationLayout.of(BOX)
    assert not box.packed and box.shape == (2, 3) and box.dtype == np.float32
    discrete = ObservationLayout.of(gym.spaces.Discrete(16))
    assert not discrete.packed and discrete.shape == () and discrete.dtype == np.int64
    blackjack = ObservationLayout.of(BLACKJACK)
    np.testing.assert_array_equal(blackjack.pack((14, 10, 0)), [14, 10, 0])


def test_bad_observations_and_spaces_say_which_part() -> None:
    with pytest.raises(ValueError, match="'position' has 3 values, expected 2"):
        ObservationLayout.of(DICT).pack(
            {"position": np.zeros(3), "colour": 1, "flags": [0, 0], "dice": [0, 0]}
        )
    with pytest.raises(SpaceError, match=r"Text.*no fixed-size layout"):
        ObservationLayout.of(gym.spaces.Dict({"name": gym.spaces.Text(3)}))
    with pytest.raises(SpaceError, match="action mask 'action_mask' must be MultiBinary"):
        ObservationLayout.of(gym.spaces.Dict({"action_mask": gym.spaces.Discrete(3)}))
    floats = gym.spaces.Box(0.0, 1.0, (3,), np.float32)  # values in [0, 1], not a 0/1 mask
    with pytest.raises(SpaceError, match=r"must be MultiBinary.*or an integer Box"):
        ObservationLayout.of(gym.spaces.Dict({"action_mask": floats}))


def test_the_action_mask_is_no_network_input_and_is_read_per_row() -> None:
    layout = ObservationLayout.of(MASKED_DICT)
    assert layout.mask_part is not None and layout.mask_part.size == 3
    assert [p.name for p in layout.input_parts] == ["observation"]
    rows = layout.pack_many(
        [
            {"observation": np.zeros(4, np.int8), "action_mask": np.array([1, 0, 1], np.int8)},
            {"observation": np.ones(4, np.int8), "action_mask": np.array([0, 1, 0], np.int8)},
        ]
    )
    legal = layout.mask(rows)
    assert legal is not None
    np.testing.assert_array_equal(legal, [[True, False, True], [False, True, False]])
    assert encoder_spec(MASKED_DICT, mask_key="action_mask").features == 4
    # Another key name: the same leaf is then an ordinary input...
    assert ObservationLayout.of(MASKED_DICT, mask_key="legal").mask_part is None
    # ...but a network told to mask by a key that is not there says so.
    with pytest.raises(SpaceError, match="action_mask_key 'legal' names no leaf"):
        encoder_spec(MASKED_DICT, mask_key="legal")


def test_the_flat_encoder_one_hots_discrete_parts() -> None:
    enc = encoder_spec(DICT, mask_key="action_mask")
    rows = np.array([[2, 1, 3, 1, 0, 0.5, -0.25]], np.float32)
    np.testing.assert_array_equal(
        encode(enc, {}, rows), [[0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0.5, -0.25]]
    )
    frozen_lake = encoder_spec(gym.spaces.Discrete(4, start=2), mask_key="action_mask")
    np.testing.assert_array_equal(encode(frozen_lake, {}, np.array([2, 5])), np.eye(4)[[0, 3]])


def test_image_boxes_get_a_cnn_with_the_channel_axis_found() -> None:
    small = encoder_spec(IMAGE_LAST, mask_key="action_mask")
    assert small.kind == "cnn" and small.channels_last and small.scale == pytest.approx(1 / 255)
    assert small.features == 16 * 8 * 8  # one 3x3 convolution over 10x10
    nature = encoder_spec(IMAGE_FIRST, mask_key="action_mask")
    assert nature.kind == "cnn" and not nature.channels_last
    assert [c.fan_out for c in nature.convs] == [32, 64, 64] and nature.features == 64 * 7 * 7
    assert encoder_spec(IMAGE_LAST, mask_key="action_mask", encoder="flat").features == 400
    with pytest.raises(SpaceError, match="encoder 'cnn' needs an image-shaped Box"):
        encoder_spec(BOX, mask_key="action_mask", encoder="cnn")


#: A centralized critic's observation: the actor reads ``action_mask`` (as a mask) and
#: ``observation``; ``critic`` (every role's observation) is the critic's only.
CENTRAL = gym.spaces.Dict(
    {
        "action_mask": gym.spaces.MultiBinary(3),
        "critic": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
        "observation": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        "role": gym.spaces.Discrete(2),
    }
)


SPECS: dict[str, Any] = {
    "q-box": lambda: q_network_spec(
        BOX, 3, hidden_sizes=(8, 8), dueling=False, mask_key="action_mask"
    ),
    "dueling-dict": lambda: q_network_spec(
        DICT, 3, hidden_sizes=(8,), dueling=True, mask_key="action_mask"
    ),
    "q-linear-discrete": lambda: q_network_spec(
        gym.spaces.Discrete(5), 2, hidden_sizes=(), dueling=False, mask_key="action_mask"
    ),
    "q-masked": lambda: q_network_spec(
        MASKED_DICT, 3, hidden_sizes=(8,), dueling=True, mask_key="action_mask"
    ),
    "q-cnn": lambda: q_network_spec(
        IMAGE_LAST, 3, hidden_sizes=(16,), dueling=True, mask_key="action_mask"
    ),
    "ac-tuple-shared": lambda: actor_critic_spec(
        BLACKJACK,
        2,
        gaussian=False,
        hidden_sizes=(8,),
        shared_torso=True,
        activation="tanh",
        orthogonal_init=True,
        initial_log_std=0.0,
        mask_key="action_mask",
    ),
    "ac-gaussian": lambda: actor_critic_spec(
        BOX,
        2,
        gaussian=True,
        hidden_sizes=(8, 8),
        shared_torso=False,
        activation="relu",
        orthogonal_init=False,
        initial_log_std=-0.5,
        mask_key="action_mask",
    ),
    "ac-central-critic": lambda: actor_critic_spec(
        CENTRAL,
        3,
        gaussian=False,
        hidden_sizes=(8,),
        shared_torso=False,
        activation="tanh",
        orthogonal_init=True,
        initial_log_std=0.0,
        mask_key="action_mask",
        critic_only_key="critic",
    ),
    "ac-masked-cnn-free": lambda: actor_critic_spec(
        IMAGE_FIRST,
        3,
        gaussian=False,
        hidden_sizes=(),
        shared_torso=True,
        activation="relu",
        orthogonal_init=True,
        initial_log_std=0.0,
        mask_key="action_mask",
    ),
}


def _sample_obs(space: gym.Space[Any], n: int) -> np.ndarray:
    space.seed(0)
    return ObservationLayout.of(space).pack_many([space.sample() for _ in range(n)])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_torch_and_numpy_interpreters_agree_on_the_same_parameters(name: str) -> None:
    spec = SPECS[name]()
    torch.manual_seed(0)
    net = SpecNetwork(spec)
    params = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in params.items()} == spec.parameter_shapes()
    obs = _sample_obs(spec.encoder.layout.space, 5)
    with torch.no_grad():
        expected = {k: v.numpy() for k, v in net(torch.as_tensor(obs)).items()}
    got = forward(spec, params, obs)
    assert set(got) == set(expected) == {h.output for h in spec.heads}
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5)
    # Initial values drawn by the spec have the same names and shapes.
    fresh = spec.initial_parameters(np.random.default_rng(0))
    assert {k: v.shape for k, v in fresh.items()} == spec.parameter_shapes()


def test_masked_heads_give_illegal_actions_the_masked_value() -> None:
    spec = SPECS["q-masked"]()
    params = spec.initial_parameters(np.random.default_rng(1))
    layout = spec.encoder.layout
    obs = layout.pack_many(
        [{"observation": np.zeros(4, np.int8), "action_mask": np.array([0, 1, 1], np.int8)}]
    )
    q = forward(spec, params, obs)["q"]
    assert q[0, 0] == MASKED and q[0, 1] > MASKED / 2 and q[0, 2] > MASKED / 2
    net = SpecNetwork(spec)
    net.load_state_dict({k: torch.as_tensor(v) for k, v in params.items()})
    q_torch = net(torch.as_tensor(obs))["q"]
    q_torch.sum().backward()
    # The dueling mean is over legal actions: no gradient reaches the illegal action's row.
    advantage_grad = net.state_dict(keep_vars=True)["head.advantage.weight"].grad
    assert advantage_grad is not None
    assert float(advantage_grad[0].abs().sum()) == 0.0


def test_a_mask_of_the_wrong_length_is_refused_when_the_network_is_built() -> None:
    with pytest.raises(SpaceError, match=r"action mask 'action_mask' has 3 entries.*4 actions"):
        q_network_spec(MASKED_DICT, 4, hidden_sizes=(8,), dueling=False, mask_key="action_mask")
    with pytest.raises(SpaceError, match="action mask needs Discrete actions"):
        actor_critic_spec(
            MASKED_DICT,
            3,
            gaussian=True,
            hidden_sizes=(8,),
            shared_torso=False,
            activation="tanh",
            orthogonal_init=True,
            initial_log_std=0.0,
            mask_key="action_mask",
        )


def test_parameter_names_are_those_of_the_networks_before_the_spec() -> None:
    dueling = SPECS["dueling-dict"]()
    assert list(dueling.parameter_shapes()) == [
        "torso.0.weight",
        "torso.0.bias",
        "head.value.weight",
        "head.value.bias",
        "head.advantage.weight",
        "head.advantage.bias",
    ]
    gaussian = SPECS["ac-gaussian"]()
    names = list(SpecNetwork(gaussian).state_dict())
    assert names[0] == "log_std" and "value_torso.2.weight" in names and "value_head.bias" in names


def test_the_dueling_head_is_value_plus_centred_advantage() -> None:
    spec = SPECS["dueling-dict"]()
    params = spec.initial_parameters(np.random.default_rng(2))
    obs = _sample_obs(DICT, 6)
    q = forward(spec, params, obs)["q"]
    hidden = np.maximum(
        encode(spec.encoder, params, obs) @ params["torso.0.weight"].T + params["torso.0.bias"], 0.0
    )
    value = hidden @ params["head.value.weight"].T + params["head.value.bias"]
    # mean_a Q = V exactly, because the advantages are centred (Wang et al., 2016, eq. 9).
    np.testing.assert_allclose(q.mean(axis=1, keepdims=True), value, rtol=1e-5, atol=1e-6)


def test_out_of_range_discrete_observations_are_refused_not_wrapped() -> None:
    enc = encoder_spec(gym.spaces.Discrete(4), mask_key="action_mask")
    with pytest.raises(ValueError, match=r"outside \[0, n\)"):
        encode(enc, {}, np.array([0, -1]))
    with pytest.raises(ValueError, match=r"outside \[0, n\)"):
        encode(enc, {}, np.array([4]))


def test_a_three_dimensional_box_too_narrow_for_a_cnn_is_read_flat() -> None:
    assert encoder_spec(gym.spaces.Box(0, 1, (100, 2, 8)), mask_key="action_mask").kind == "flat"


def test_a_critic_only_part_is_read_by_the_critic_alone() -> None:
    spec = SPECS["ac-central-critic"]()
    # The actor reads observation (2) and role (one-hot 2); the critic also critic (6).
    assert spec.torso("policy_torso").layers[0].fan_in == 4
    assert spec.torso("value_torso").layers[0].fan_in == 10
    params = spec.initial_parameters(np.random.default_rng(0))
    obs = _sample_obs(CENTRAL, 4)
    layout = ObservationLayout.of(CENTRAL)
    (critic,) = [p for p in layout.parts if p.path == ("critic",)]
    changed = obs.copy()
    changed[:, critic.offset : critic.offset + critic.size] += 0.5
    before, after = forward(spec, params, obs), forward(spec, params, changed)
    np.testing.assert_array_equal(before["logits"], after["logits"])
    assert not np.allclose(before["value"], after["value"])


def test_a_critic_only_key_that_cannot_work_is_refused() -> None:
    def build(**kwargs: Any) -> Any:
        fields: dict[str, Any] = {
            "gaussian": False,
            "hidden_sizes": (8,),
            "shared_torso": False,
            "activation": "tanh",
            "orthogonal_init": True,
            "initial_log_std": 0.0,
            "mask_key": "action_mask",
            "critic_only_key": "critic",
            **kwargs,
        }
        return actor_critic_spec(CENTRAL, 3, **fields)

    with pytest.raises(SpaceError, match="separate actor and critic torsos"):
        build(shared_torso=True)
    with pytest.raises(SpaceError, match="'nothing' must name some"):
        build(critic_only_key="nothing")
