"""Networks as data: a :class:`NetworkSpec` built from the observation and action spaces, run by
a torch interpreter (:class:`~rlactors.networks.torch_module.SpecNetwork`, for learning) or a
numpy one (:func:`~rlactors.networks.numpy_forward.forward`, for acting without torch).

Nothing here knows about actors, and importing this package imports no torch.
"""

from rlactors.networks.spec import (
    MASKED,
    EncoderSpec,
    HeadSpec,
    Layer,
    NetworkSpec,
    TorsoSpec,
    actor_critic_spec,
    encoder_spec,
    q_network_spec,
)

__all__ = [
    "MASKED",
    "EncoderSpec",
    "HeadSpec",
    "Layer",
    "NetworkSpec",
    "TorsoSpec",
    "actor_critic_spec",
    "encoder_spec",
    "q_network_spec",
]
