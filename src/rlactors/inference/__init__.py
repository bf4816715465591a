"""Acting for many evaluators in one place: the seed's ``a = ev.policy_actor(s)``.

* :class:`PolicyServer`: a receive-loop actor that batches the requests of many evaluators
  into one forward pass (:class:`ServerConfig` says when it answers);
* :class:`QServerClient`, :class:`ActorCriticServerClient`: what an evaluator acts through
  in place of its own policy copy (``DQNEvaluator(config, index, policy=client)``);
* :class:`ServedPolicy`: a supervised server and its clients, as an optimizer holds them
  (``inference="server"`` on every algorithm; see docs/inference.md).
"""

from rlactors.inference.clients import ActorCriticServerClient, QServerClient
from rlactors.inference.config import INFERENCE_MODES, ServerConfig
from rlactors.inference.server import POLICY_KINDS, PolicyServer, ServedSpaces
from rlactors.inference.serving import ServedPolicy

__all__ = [
    "INFERENCE_MODES",
    "POLICY_KINDS",
    "ActorCriticServerClient",
    "PolicyServer",
    "QServerClient",
    "ServedPolicy",
    "ServedSpaces",
    "ServerConfig",
]
