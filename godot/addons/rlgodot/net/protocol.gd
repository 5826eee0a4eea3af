extends RefCounted
## The constants of wire protocol v1 (docs/PROTOCOL.md), in one place.
##
## One `const NAME: type = literal` per line: tests read this file with a regular expression and
## compare it with the Python constants, so keep every value a plain literal.

## The one integer both ends must agree on at hello.
const PROTOCOL_VERSION: int = 1
## The `server` field of the hello reply.
const SERVER_NAME: String = "rlgodot-godot/0.1.0"
## Largest `config.n_envs` one Godot process accepts.
const MAX_ENVS: int = 4096
## Longest `config.spin_usec` (10 ms).
const MAX_SPIN_USEC: int = 10000
## Frame limit announced in the hello reply as `max_frame_bytes` (64 MiB).
const DEFAULT_MAX_FRAME_BYTES: int = 67108864
## Largest `config.action_repeat` (physics ticks per step).
const MAX_ACTION_REPEAT: int = 1000
## `config.realtime_factor` is 0 (flat out) or in MIN..MAX (a throttled step sleeps in slices and
## still notices a client that leaves).
const MIN_REALTIME_FACTOR: float = 0.01
const MAX_REALTIME_FACTOR: float = 1000.0
## Largest `steps` of one `bench` request.
const MAX_BENCH_STEPS: int = 1000000
## Seconds a new connection has to complete its hello, else it is dropped (Godot then waits
## for the next client).
const HELLO_TIMEOUT_SEC: int = 10
## Seconds the rest of a frame may take once its first byte arrived.
const FRAME_TIMEOUT_SEC: int = 10
## Environment variable holding the per-launch secret the hello's `token` must equal.
const TOKEN_ENV: String = "RLGODOT_TOKEN"
## Port an attached game (RLServer with allow_attach) listens on unless told otherwise.
const DEFAULT_ATTACH_PORT: int = 11010
## Command-line flag of a game build (any build: exported too) that lets its RLServer listen for
## trainers; `--rlgodot-attach=PORT` also picks the port. Editor builds need no flag.
const ATTACH_ARG: String = "--rlgodot-attach"
## Largest `config.physics_hz` (physics ticks per simulated second).
const MAX_PHYSICS_HZ: int = 100000
## `config.script_errors`: a script error while handling a request fails it, or only warns.
const SCRIPT_ERRORS_RAISE: String = "raise"
const SCRIPT_ERRORS_WARN: String = "warn"
## `config.viewer`: no views (training), a window (watching), or offscreen views read by `render`.
const VIEWER_NONE: String = "none"
const VIEWER_WINDOW: String = "window"
const VIEWER_OFFSCREEN: String = "offscreen"
## `config.view_size` default and the bounds of each side, pixels.
const DEFAULT_VIEW_WIDTH: int = 640
const DEFAULT_VIEW_HEIGHT: int = 360
const MIN_VIEW_SIDE: int = 16
const MAX_VIEW_SIDE: int = 4096
## Hello config defaults.
const DEFAULT_N_ENVS: int = 1
const DEFAULT_ACTION_REPEAT: int = 4
const DEFAULT_MAX_EPISODE_STEPS: int = 1000

## Status bits of a step_result row.
const STATUS_TERMINATED: int = 1
const STATUS_TRUNCATED: int = 2
const STATUS_RESET_STEP: int = 4

## Codec names (hello `codecs` / `codec`).
const CODEC_BINARY: String = "binary"
const CODEC_JSON: String = "json"

## Autoreset modes (hello `config.autoreset`).
const AUTORESET_SAME_STEP: String = "same_step"
const AUTORESET_NEXT_STEP: String = "next_step"

## Message types: requests.
const TYPE_HELLO: String = "hello"
const TYPE_RESET: String = "reset"
const TYPE_STEP: String = "step"
## A step whose actions the policy of hello `config.policy` computes in the engine.
const TYPE_ACT: String = "act"
const TYPE_BENCH: String = "bench"
const TYPE_PING: String = "ping"
const TYPE_CLOSE: String = "close"
const TYPE_RENDER: String = "render"
const TYPE_CAPTION: String = "caption"
## Message types: replies (and `hello`).
const TYPE_RESET_RESULT: String = "reset_result"
const TYPE_STEP_RESULT: String = "step_result"
const TYPE_BENCH_RESULT: String = "bench_result"
const TYPE_PONG: String = "pong"
const TYPE_BYE: String = "bye"
const TYPE_CAPTIONED: String = "captioned"
const TYPE_ERROR: String = "error"
## Notice sent before a reply (script_errors = warn): the script errors raised by the request.
const TYPE_SCRIPT_ERRORS: String = "script_errors"

## Error codes of `error` replies.
const ERROR_BAD_FRAME: String = "bad_frame"
const ERROR_BAD_MESSAGE: String = "bad_message"
const ERROR_UNKNOWN_TYPE: String = "unknown_type"
const ERROR_NOT_READY: String = "not_ready"
const ERROR_BAD_ACTION: String = "bad_action"
const ERROR_FRAME_TOO_LARGE: String = "frame_too_large"
const ERROR_PROTOCOL_VERSION: String = "protocol_version"
const ERROR_LAYOUT_MISMATCH: String = "layout_mismatch"
const ERROR_BAD_CONFIG: String = "bad_config"
const ERROR_UNAUTHORIZED: String = "unauthorized"
const ERROR_SCRIPT_ERROR: String = "script_error"

## Binary messages: first body byte of each form, the kinds, the header size.
const JSON_FIRST_BYTE: int = 0x7B
const BINARY_MAGIC: int = 0xB1
const KIND_STEP: int = 1
const KIND_STEP_RESULT: int = 2
const KIND_RESET_RESULT: int = 3
## A `render` reply: header (magic, KIND_FRAMES, 0, n, width, height), then n RGB8 frames.
const KIND_FRAMES: int = 4
const BINARY_HEADER_BYTES: int = 16
