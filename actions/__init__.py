"""Koers' custom actions. Importing the package installs Koers' hooks around rasa-sdk's
action executor (actions/hooks.py), in whatever process runs the actions."""

from actions import hooks as _hooks

_hooks.install()
