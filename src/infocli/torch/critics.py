"""Ready critics T(x, y) for the variational MI bounds, scoring all B x B pairs."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["ConcatCritic", "SeparableCritic", "make_critic", "critic_offset"]


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class ConcatCritic(nn.Module):
    """T(x, y) = MLP([x, y]) scored on all B x B pairs of a batch.

    ``forward(x, y)`` with x (B, dx) and y (B, dy) returns (B, B) scores,
    ``scores[i, j] = T(x_i, y_j)``. The first layer is split into its x and y
    halves and broadcast, so the concatenated (B*B, dx+dy) input is never built.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if not hidden:
            raise ValueError("hidden: expected at least one hidden layer")
        self.fx = nn.Linear(x_dim, hidden[0])
        self.fy = nn.Linear(y_dim, hidden[0], bias=False)
        self.rest = _mlp((*hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fx(x)[:, None, :] + self.fy(y)[None, :, :])
        return self.rest(h).squeeze(-1)


class SeparableCritic(nn.Module):
    """T(x, y) = g(x) . h(y) + c with two MLPs ending in ``embed_dim`` features.

    The scalar c lets the critic shift its scale freely, which is what the
    ReMINE penalty asks of it (DV is invariant to the shift).
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128),
                 embed_dim: int = 32):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        self.g = _mlp((x_dim, *hidden, embed_dim))
        self.h = _mlp((y_dim, *hidden, embed_dim))
        self.c = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T + self.c


def make_critic(kind: str, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128),
                embed_dim: int = 32) -> nn.Module:
    """A ready critic: ``kind`` is ``"concat"`` or ``"separable"``."""
    if kind == "concat":
        return ConcatCritic(x_dim, y_dim, hidden)
    if kind == "separable":
        return SeparableCritic(x_dim, y_dim, hidden, embed_dim)
    raise ValueError(f"critic {kind!r}: expected concat or separable")


def critic_offset(critic: nn.Module) -> torch.Tensor | None:
    """The additive output constant of a ready critic (for :func:`objective`), else None."""
    if isinstance(critic, SeparableCritic):
        return critic.c
    if isinstance(critic, ConcatCritic):
        return critic.rest[-1].bias
    return None
