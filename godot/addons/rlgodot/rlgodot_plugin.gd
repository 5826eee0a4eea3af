@tool
extends EditorPlugin
## Editor stub: enabling the addon needs no editor UI; RLAgent is a global class_name and the
## runtime (bootstrap, protocol server, batch, play mode) runs from plain scripts.
