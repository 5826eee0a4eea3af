"""Clients of the Godot server: asyncio (the real one), a pool over processes, a sync facade."""

from rlgodot.core.runtime.client.arguments import check_actions
from rlgodot.core.runtime.client.async_client import AsyncGodotClient
from rlgodot.core.runtime.client.pool import AsyncGodotPool, split_evenly
from rlgodot.core.runtime.client.sync_client import EventLoopRunner, GodotClient, GodotPool

__all__ = [
    "AsyncGodotClient",
    "AsyncGodotPool",
    "EventLoopRunner",
    "GodotClient",
    "GodotPool",
    "check_actions",
    "split_evenly",
]
