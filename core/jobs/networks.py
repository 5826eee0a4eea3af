"""Feature extractors for SB3 policies that fit a small CPU.

A plugin names one in its training defaults by dotted path, as a plain string, so that
``--print-config`` files and sidecars keep it::

    "policy_kwargs": {"features_extractor_class": "rlgodot.core.jobs.networks.SmallCnn",
                      "features_extractor_kwargs": {"features_dim": 128}}

(:func:`rlgodot.core.jobs.train.resolve_training` imports it).
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class SmallCnn(BaseFeaturesExtractor):
    """NatureCNN's shape at half its width: a CNN for small images on one CPU thread.

    Three convolutions (8x8 stride 4, 4x4 stride 2, 3x3 stride 1) of 16, 32 and 32 filters, then
    one linear layer with ReLU. On ``ball-pixels-v0``'s 84 x 84 x 2 frames with 64 features it
    has 120k weights (NatureCNN: 1.7M), and PPO with that env's defaults, on one CPU thread and
    an env that costs nothing, runs 3.1 times as fast with it (docs/BENCHMARKS.md, "Camera
    observations"). It suits a few plain shapes on a plain background; Atari-like scenes may
    need NatureCNN's width.

    Args:
        observation_space: A channels-first image ``Box`` (SB3 transposes channels-last ones).
        features_dim: Outputs of the final linear layer.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        self.cnn = nn.Sequential(
            nn.Conv2d(observation_space.shape[0], 16, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flatten = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flatten, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features of a batch of (normalised) channels-first images."""
        return self.linear(self.cnn(observations))
