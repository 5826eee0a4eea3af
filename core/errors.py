"""The rlgodot exception hierarchy.

Every error raised on purpose by rlgodot derives from :class:`RLGodotError` and keeps a
builtin base where one fits (``GodotTimeout`` is a ``TimeoutError``), so callers can catch
either. Messages say what happened, with the values involved, and what to do next.
"""

from __future__ import annotations


class RLGodotError(Exception):
    """Root of every error rlgodot raises on purpose."""


class GodotNotFound(RLGodotError, FileNotFoundError):
    """No usable Godot 4 binary was found (GODOT_BIN, PATH, provisioned cache)."""


class GodotVersionError(RLGodotError):
    """A Godot binary was found but its version is unsupported (< 4.3) or unreadable."""


class GodotLaunchError(RLGodotError, RuntimeError):
    """Godot started but never became ready (no port announced, project failed to load)."""


class GodotCrashed(RLGodotError, ConnectionError):
    """The Godot process died or closed the connection during a session."""


class GodotTimeout(RLGodotError, TimeoutError):
    """Godot did not answer within the deadline: it is hung or far too slow."""


class GodotNotListening(RLGodotError, ConnectionRefusedError):
    """Nothing listens on the port to attach to: the game is not running or has a trainer."""


class DisplayUnavailable(RLGodotError):
    """A rendering Godot has no display to draw on (no ``DISPLAY``, no usable Xvfb)."""


class ProtocolError(RLGodotError):
    """A frame or message broke the wire protocol (see docs/PROTOCOL.md)."""


class LayoutMismatch(ProtocolError):
    """The Godot scene's declared state/action layout differs from what the plugin expects."""


class AddonVersionMismatch(ProtocolError):
    """The Godot addon's version differs from this Python package's.

    Found in the hello (the server's name carries its version) or, before a launch, in the
    ``plugin.cfg`` of the addon inside a user's project. The fix is the same either way:
    ``rlgodot addon install <project>``, or installing the Python package of the addon's version.
    """


class RemoteError(RLGodotError):
    """Godot answered a request with an error reply.

    Attributes:
        code: The machine-readable error code from the reply (e.g. ``"bad_action"``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"Godot rejected the request ({code}): {message}")
        self.code = code


class ScriptError(RemoteError):
    """A GDScript error (Godot's ``SCRIPT ERROR``) was raised while Godot handled a request.

    The request ran, possibly in part (instances may have stepped); reset before relying on
    their states.

    Attributes:
        code: ``"script_error"``.
    """


class ScriptErrorWarning(UserWarning):
    """Godot reported script errors during a request (``SessionConfig(script_errors="warn")``)."""


class PluginError(RLGodotError):
    """An env plugin failed to load or returned an invalid spec."""


class EnvNotFound(RLGodotError, KeyError):
    """No installed plugin provides the requested env id."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class InvalidAction(RLGodotError, ValueError):
    """An action batch has the wrong shape, dtype or values for the env's action space."""


class InvalidOption(RLGodotError, ValueError):
    """An env option is unknown or has a value of the wrong type."""


class ProjectError(RLGodotError):
    """The runnable Godot project could not be assembled or imported."""


class GodotRestartsExhausted(GodotCrashed):
    """Godot failed again and again: a training env gave up restarting it."""


class VideoError(RLGodotError):
    """A video could not be written: unwritable path, frames of the wrong shape, no encoder."""
