"""The schedule of rlgodot's periodic training callbacks (evaluation, videos)."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback


class EveryNSteps(BaseCallback):
    """An SB3 callback whose :meth:`_on_due` runs every ``every`` env steps.

    It runs at the first step at or past each multiple of ``every`` after training starts, so a
    resumed run keeps the schedule of the run it continues.
    """

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self.next_at = 0

    def _on_training_start(self) -> None:
        self.next_at = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_at:
            self.next_at = (self.num_timesteps // self.every + 1) * self.every
            self._on_due()
        return True

    def _on_due(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _on_due()")
