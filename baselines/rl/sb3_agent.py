"""MaskablePPO (sb3-contrib) on the registered Gymnasium environments, with a graph encoder.

The agent uses the environment exactly as any user would: ``make_vec_env`` over
``gym.make("CrossCountry/<Task>-v0", cost_model=..., reward_scale=...)`` (or over
:class:`crosscountry_gym.envs.gym_env.CrossCountryEnv` for a user :class:`Graph`), the env's
public ``action_masks()`` for MaskablePPO, and ``info["order"]`` / ``info["cost"]`` at the end of
each episode. No private hooks.

Policy (:class:`GraphMaskablePolicy`), size-agnostic and permutation-equivariant:

* :class:`GraphEncoder` (an SB3 ``BaseFeaturesExtractor``): one token per vertex column from
  local structure read off the ``edge_types`` tensor (degrees, copy / sparse edge counts, the
  Markowitz product, masks, vertex size), then ``num_layers`` blocks of predecessor/successor
  message passing + multi-head self-attention over the *live* vertices (eliminated and padding
  vertices masked out as keys) + a swish feed-forward layer, pre-LayerNorm. The same design as
  the AlphaZero network (:mod:`.alphazero.network`), in torch;
* :class:`VertexHeads` (the policy's ``mlp_extractor``): the actor maps every token to one logit
  (so ``action_net`` is the identity: logit k is vertex k + 1), the critic pools the live
  tokens into a vector for SB3's ``value_net``.

PPO settings follow the paper (``docs/rl.md`` §P3): rollout length = number of
eliminable vertices, 4 minibatches, 1 epoch, clip 0.2, GAE lambda 0.95, gamma 1, entropy 0.01,
value coefficient 1, Adam eps 1e-7, gradient clip 0.5, lr 2.5e-4 (constant: the run length is
a wall-time budget, unknown in advance). Differences: ``num_envs`` 8 by default (CPU), one shared
encoder for policy and value, and the value target is the return scaled by the environment's
``reward_scale = 1 / Markowitz cost`` (:func:`crosscountry_gym.orders.reference_costs`) instead
of symlog(return) (SB3 has no target transform; scaling keeps returns near -1 just as well).

Imports torch, stable-baselines3 and sb3-contrib; never imported by ``crosscountry_gym.baselines``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

import crosscountry_gym  # noqa: F401  (registers the CrossCountry/* ids)
from crosscountry_gym.graph import Graph
from crosscountry_gym.orders import reference_costs
from crosscountry_gym.sparsity import DEFAULT_MODEL
from crosscountry_gym.tasks import Task, resolve_graph

from .training import RunRecorder, TrainResult

__all__ = [
    "PPOConfig",
    "GraphEncoder",
    "VertexHeads",
    "GraphMaskablePolicy",
    "make_env",
    "make_model",
    "BudgetedPPO",
    "train",
    "torch_vertex_features",
    "env_steps_per_second",
]

NUM_FEATURES = 15


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters (module docstring for their provenance)."""

    num_envs: int = 8
    learning_rate: float = 2.5e-4
    num_minibatches: int = 4
    n_epochs: int = 1
    clip_range: float = 0.2
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    vf_coef: float = 1.0
    max_grad_norm: float = 0.5
    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int = 64

    def __post_init__(self) -> None:
        for name in ("num_envs", "num_minibatches", "n_epochs", "d_model", "num_layers",
                     "num_heads", "ff_dim"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"PPOConfig.{name} must be a positive int, got {val!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads "
                             f"({self.num_heads})")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# network


def torch_vertex_features(obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """Batched per-vertex features: ``(f [B, V, 15], adjacency [B, V, V], alive bool [B, V])``.

    The torch twin of :func:`crosscountry_gym.baselines.rl.alphazero.features.vertex_features`
    (same features, same order); ``adjacency[b, i, j] = 1`` when vertex i feeds vertex j.
    """
    et = obs["edge_types"]
    _, r, v = et.shape
    mi = r - v
    a = (et != 0).float()
    cp = (et == -1).float()
    sp = a * (et != 1).float() * (1.0 - cp)
    alive = obs["vertex_mask"] > 0.5
    legal = alive & ~(obs["output_mask"] > 0.5)
    adj = a[:, mi:, :]
    in_deg, out_deg = a.sum(1), adj.sum(2)
    in_cp, out_cp = cp.sum(1), cp[:, mi:].sum(2)
    lmk = th.log1p((in_deg - in_cp) * (out_deg - out_cp))
    lmin = th.where(legal, lmk, th.full_like(lmk, float("inf"))).amin(1, keepdim=True)
    lmin = th.where(th.isinf(lmin), th.zeros_like(lmin), lmin)
    vsize = obs["vertex_shapes"].clamp(min=1).prod(-1)
    f = th.stack(
        [
            alive.float(), (obs["output_mask"] > 0.5).float(), legal.float(),
            th.log1p(in_deg), th.log1p(out_deg), th.log1p(a[:, :mi].sum(1)),
            th.log1p(in_deg - in_cp), th.log1p(out_deg - out_cp),
            th.log1p(in_cp), th.log1p(out_cp),
            th.log1p(sp.sum(1)), th.log1p(sp[:, mi:].sum(2)),
            lmk, th.where(legal, lmk - lmin, th.zeros_like(lmk)), th.log(vsize),
        ],
        dim=-1,
    )
    return f * alive.unsqueeze(-1).float(), adj, alive


class _Attention(nn.Module):
    """Multi-head self-attention with a key mask (plain matmuls: on CPU several times faster
    than ``nn.MultiheadAttention`` with a padding mask at these sizes)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: th.Tensor, keep: th.Tensor) -> th.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        s = (q @ k.transpose(-1, -2)) * (d // self.heads) ** -0.5
        s = s.masked_fill(~keep[:, None, None, :], -1e9)
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.out(y)


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.msg_in, self.msg_out = nn.Linear(3 * d, d), nn.Linear(d, d)
        self.attn = _Attention(d, heads)
        self.ff_in, self.ff_out = nn.Linear(d, ff), nn.Linear(ff, d, bias=False)

    def forward(self, h: th.Tensor, adj: th.Tensor, alive: th.Tensor) -> th.Tensor:
        x = self.ln1(h)
        pred = adj.transpose(1, 2) @ x / adj.sum(1).clamp(min=1.0).unsqueeze(-1)
        succ = adj @ x / adj.sum(2).clamp(min=1.0).unsqueeze(-1)
        h = h + self.msg_out(nn.functional.silu(self.msg_in(th.cat([x, pred, succ], -1))))
        x = self.ln2(h)
        h = h + self.attn(x, alive)
        return h + self.ff_out(nn.functional.silu(self.ff_in(self.ln3(h))))


class GraphEncoder(BaseFeaturesExtractor):
    """Vertex-token graph transformer over the env's Dict observation.

    Output: ``[B, V * (d_model + 2)]``, the flattened tokens with two extra channels per vertex
    (alive, legal) that :class:`VertexHeads` uses for pooling and masking.
    """

    def __init__(self, observation_space: spaces.Dict, d_model: int = 32, num_layers: int = 2,
                 num_heads: int = 4, ff_dim: int = 64):
        need = {"edge_types", "vertex_mask", "output_mask", "vertex_shapes"}
        if not isinstance(observation_space, spaces.Dict) or not need <= set(observation_space):
            raise ValueError(f"GraphEncoder needs a Dict observation space with keys {sorted(need)}"
                             " (a CrossCountry environment)")
        v = observation_space["vertex_mask"].shape[0]
        super().__init__(observation_space, features_dim=v * (d_model + 2))
        self.num_vertices, self.d_model = v, d_model
        self.embed = nn.Linear(NUM_FEATURES, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, num_heads, ff_dim) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(d_model)

    def forward(self, obs: dict[str, th.Tensor]) -> th.Tensor:
        f, adj, alive = torch_vertex_features(obs)
        h = self.embed(f)
        for blk in self.blocks:
            h = blk(h, adj, alive)
        h = self.ln_f(h)
        legal = alive & ~(obs["output_mask"] > 0.5)
        tok = th.cat([h, alive.unsqueeze(-1).float(), legal.unsqueeze(-1).float()], -1)
        return tok.flatten(1)


class VertexHeads(nn.Module):
    """SB3 ``mlp_extractor``: per-vertex policy logits (``latent_dim_pi = V``) and a pooled
    critic latent (``latent_dim_vf = d_model``)."""

    def __init__(self, num_vertices: int, d_model: int):
        super().__init__()
        self.v, self.d = num_vertices, d_model
        self.latent_dim_pi, self.latent_dim_vf = num_vertices, d_model
        self.pol_hidden, self.pol_out = nn.Linear(d_model, d_model), nn.Linear(d_model, 1)
        self.val_hidden = nn.Linear(2 * d_model + 1, d_model)

    def _split(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        x = features.view(features.shape[0], self.v, self.d + 2)
        return x[..., : self.d], x[..., self.d] > 0.5, x[..., self.d + 1] > 0.5

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        h, _, _ = self._split(features)
        return self.pol_out(nn.functional.silu(self.pol_hidden(h))).squeeze(-1)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        h, alive, legal = self._split(features)
        w = alive.unsqueeze(-1).float()
        mean = (h * w).sum(1) / w.sum(1).clamp(min=1.0)
        mx = th.where(alive.unsqueeze(-1), h, th.full_like(h, -1e4)).amax(1)
        n = th.log1p(legal.float().sum(1, keepdim=True))
        return nn.functional.silu(self.val_hidden(th.cat([mean, mx, n], -1)))

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class GraphMaskablePolicy(MaskableActorCriticPolicy):
    """MaskableActorCriticPolicy with :class:`GraphEncoder` and :class:`VertexHeads`; the
    action net is the identity (one logit per vertex comes straight from the tokens)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("features_extractor_class", GraphEncoder)
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        enc = self.features_extractor
        self.mlp_extractor = VertexHeads(enc.num_vertices, enc.d_model)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        nn.init.orthogonal_(self.mlp_extractor.pol_out.weight, gain=0.01)  # near-uniform start
        nn.init.zeros_(self.mlp_extractor.pol_out.bias)
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )


# --------------------------------------------------------------------------------------------
# environment and model


def _reward_scale(graph: Graph, cost_model: str) -> float:
    return 1.0 / max(1, reference_costs(graph, cost_model).markowitz)


def make_env(task: str | Task | Graph, *, num_envs: int = 8, seed: int = 0,
             cost_model: str = DEFAULT_MODEL) -> VecEnv:
    """SB3 vector env: ``make_vec_env("CrossCountry/<task>-v0", ...)`` for a task (name or
    :class:`Task`), or ``make_vec_env(CrossCountryEnv, env_kwargs={"graph": graph, ...})`` for a
    :class:`Graph`. Rewards are scaled by 1 / (Markowitz cost) through the env's
    ``reward_scale`` option."""
    name, graph = resolve_graph(task)
    kwargs = {"cost_model": cost_model, "reward_scale": _reward_scale(graph, cost_model)}
    if name is None:
        from crosscountry_gym.envs.gym_env import CrossCountryEnv

        return make_vec_env(CrossCountryEnv, n_envs=num_envs, seed=seed,
                            env_kwargs={"graph": graph, **kwargs})
    return make_vec_env(f"CrossCountry/{name}-v0", n_envs=num_envs, seed=seed, env_kwargs=kwargs)


class BudgetedPPO(MaskablePPO):
    """MaskablePPO whose policy update can be declined: ``update_gate()``, when set, is asked
    before every update (``train`` skips it and the run stops when it returns False, e.g.
    because the update would not end within the time budget); ``update_s`` is the duration
    of the last update (``None`` before the first)."""

    update_gate: Callable[[], bool] | None = None
    update_s: float | None = None

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "update_gate", "update_s"]  # run state

    def train(self) -> None:
        if self.update_gate is not None and not self.update_gate():
            return
        t = time.perf_counter()
        super().train()
        self.update_s = time.perf_counter() - t


def make_model(env: VecEnv, graph: Graph, config: PPOConfig, seed: int = 0) -> BudgetedPPO:
    """A MaskablePPO learner (:class:`BudgetedPPO`) with the graph policy (rollout length =
    eliminable vertices)."""
    n_steps = max(graph.num_intermediates, 2)
    batch = env.num_envs * n_steps
    return BudgetedPPO(
        GraphMaskablePolicy,
        env,
        learning_rate=config.learning_rate,
        n_steps=n_steps,
        batch_size=max(1, batch // config.num_minibatches),
        n_epochs=config.n_epochs,
        gamma=1.0,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_range,
        ent_coef=config.ent_coef,
        vf_coef=config.vf_coef,
        max_grad_norm=config.max_grad_norm,
        policy_kwargs={
            "features_extractor_kwargs": {"d_model": config.d_model,
                                          "num_layers": config.num_layers,
                                          "num_heads": config.num_heads,
                                          "ff_dim": config.ff_dim},
            "optimizer_kwargs": {"eps": 1e-7},
        },
        seed=seed,
        device="cpu",
        verbose=0,
    )


class _RecorderCallback(BaseCallback):
    """Feeds finished episodes (``info["order"]``, ``info["cost"]``) to the recorder, logs one
    metrics row per rollout, checkpoints (after the first rollout, then every
    ``checkpoint_every_s``), and stops the run when it must stop (a stop signal, or too little
    time left for what is still to come and the final checkpoint;
    :meth:`RunRecorder.should_stop`): mid-rollout, or before the update of a complete rollout
    when that update would not fit (its expected duration: the last update's, or for the
    first one the rollout's own, a safe upper bound)."""

    def __init__(self, rec: RunRecorder, save: Callable[[Path], None],
                 checkpoint_every_s: float,
                 on_log: Callable[[RunRecorder, dict[str, Any]], None] | None,
                 max_rollouts: int | None):
        super().__init__()
        self.rec, self.save, self.every, self.on_log = rec, save, checkpoint_every_s, on_log
        self.max_rollouts = max_rollouts
        self.rollouts = 0
        self._orders: list[tuple[int, ...]] = []
        self._costs: list[int] = []
        self.invalid = 0
        self.out_of_budget = False  # set when a rollout was cut or an update declined: the end
        self.rollout_s = 0.0  # duration of the last complete rollout
        self._rollout_t0 = time.perf_counter()

    def _init_callback(self) -> None:
        self.model.update_gate = self._update_fits

    @property
    def update_s(self) -> float:
        """Expected duration of the next policy update."""
        last = self.model.update_s
        return self.rollout_s if last is None else last

    def _update_fits(self) -> bool:
        if self.rec.should_stop(self.update_s):
            self.out_of_budget = True
        return not self.out_of_budget

    def _on_rollout_start(self) -> None:
        self._rollout_t0 = time.perf_counter()

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        self.rec.add_env_steps(len(dones))
        for info, done in zip(infos, dones, strict=True):
            self.invalid += bool(info.get("invalid_action", False))
            if done:
                self._orders.append(info["order"])
                self._costs.append(info["cost"])
        if self.rec.should_stop(self.model.update_s or 0.0):
            self.out_of_budget = True  # this rollout's update would not fit: end the run
        return not self.out_of_budget

    def flush(self) -> None:
        """Record the episodes of a rollout that was cut short."""
        self.rec.record_episodes(self._orders, self._costs)
        self._orders, self._costs = [], []

    def _on_rollout_end(self) -> None:
        self.rollout_s = time.perf_counter() - self._rollout_t0
        self.rec.record_episodes(self._orders, self._costs)
        vals = self.model.logger.name_to_value
        row = self.rec.log(
            self._costs,
            policy_loss=vals.get("train/policy_gradient_loss"),
            value_loss=vals.get("train/value_loss"),
            entropy=-vals["train/entropy_loss"] if "train/entropy_loss" in vals else None,
        )
        self._orders, self._costs = [], []
        self.rollouts += 1
        if self.on_log is not None:
            self.on_log(self.rec, row)
        if not self.stop_requested():
            self.rec.maybe_checkpoint(self.save, self.every, upcoming_s=self.update_s)

    def stop_requested(self) -> bool:
        return self.max_rollouts is not None and self.rollouts >= self.max_rollouts


def train(
    task: str | Task | Graph,
    *,
    seed: int = 0,
    budget_s: float,
    out_dir: str | Path,
    resume: bool = False,
    config: PPOConfig | None = None,
    cost_model: str = DEFAULT_MODEL,
    max_rollouts: int | None = None,
    checkpoint_every_s: float = 120.0,
    on_log: Callable[[RunRecorder, dict[str, Any]], None] | None = None,
    clock_start: float | None = None,
) -> TrainResult:
    """Train MaskablePPO on ``task`` (a task name, a :class:`Task` or a :class:`Graph`) for
    ``budget_s`` seconds of run time (or ``max_rollouts`` rollouts); writes the run directory
    (:class:`RunRecorder`). ``resume`` continues the checkpoint in ``out_dir`` (``ppo.zip``:
    weights, optimiser, step counter).

    Checkpoints after the first rollout and every ``checkpoint_every_s``; stops mid-rollout
    when the budget would be overshot. SIGINT / SIGTERM stop the run with a final checkpoint
    and raise :class:`RunInterrupted` (``docs/rl.md``). ``clock_start``: see
    :class:`RunRecorder`.
    """
    config = config or PPOConfig()
    rec = RunRecorder(
        out_dir, task, method="ppo", seed=seed, cost_model=cost_model, budget_s=budget_s,
        extra_fields=("policy_loss", "value_loss", "entropy"),
        config=config.as_dict(), resume=resume, clock_start=clock_start,
    )
    graph = rec.graph
    if resume and rec.config != config.as_dict():
        raise ValueError("--resume: the checkpoint was trained with another PPO configuration")
    with rec.catch_signals():
        th.manual_seed(seed)
        env = make_env(task, num_envs=config.num_envs, seed=seed + rec.iteration,
                       cost_model=cost_model)
        if resume:
            model = BudgetedPPO.load(rec.checkpoint_dir / "ppo.zip", env=env, device="cpu")
        else:
            model = make_model(env, graph, config, seed)

        def save(d: Path) -> None:
            model.save(d / "ppo.zip")

        from stable_baselines3.common.logger import configure

        model.set_logger(configure(None, []))  # one logger for all learn() calls: losses survive
        cb = _RecorderCallback(rec, save, checkpoint_every_s, on_log, max_rollouts)
        rollout = env.num_envs * model.n_steps
        while not (rec.should_stop() or cb.out_of_budget or cb.stop_requested()):
            # one rollout (+ its update) per call, so that max_rollouts and the budget are exact
            model.learn(total_timesteps=rollout, callback=cb, reset_num_timesteps=False,
                        progress_bar=False)
        cb.flush()
        if cb.invalid:
            raise RuntimeError(f"{cb.invalid} illegal actions were taken despite masking: a bug")
        env.close()
        return rec.finish(save)


def env_steps_per_second(task: str | Task | Graph, config: PPOConfig | None = None, *,
                         rollouts: int = 2, seed: int = 0) -> float:
    """PPO training throughput (env steps per second, rollout collection and updates
    included), measured after one warm-up rollout."""
    config = config or PPOConfig()
    _, graph = resolve_graph(task)
    env = make_env(task, num_envs=config.num_envs, seed=seed)
    model = make_model(env, graph, config, seed)
    rollout = env.num_envs * model.n_steps
    model.learn(total_timesteps=rollout, reset_num_timesteps=False)
    t = time.perf_counter()
    model.learn(total_timesteps=rollouts * rollout, reset_num_timesteps=False)
    dt = time.perf_counter() - t
    env.close()
    return rollouts * rollout / dt

