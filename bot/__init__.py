"""Koers. Importing the package hides SQL parameter values in every database error of the
process (`bot.logsafety`): they can hold what a client typed."""

from bot import logsafety as _logsafety  # noqa: F401
