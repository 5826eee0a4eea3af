"""Clients of the Godot server: asyncio (the real one), a pool over processes, a sync facade."""

from .async_client import AsyncGodotClient
from .checks import check_actions
from .pool import AsyncGodotPool, split_evenly
from .sync_client import EventLoopRunner, GodotClient, GodotPool

__all__ = [
    "AsyncGodotClient",
    "AsyncGodotPool",
    "EventLoopRunner",
    "GodotClient",
    "GodotPool",
    "check_actions",
    "split_evenly",
]
