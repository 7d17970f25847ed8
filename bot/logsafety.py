"""Keep what clients typed out of error messages and logs.

SQLAlchemy puts the values of a failed statement in the text of its exception, and that
text ends up in logs (Koers's, the action server's, Rasa's tracker store's). Those values
are answers, messages and safety-event texts: health data. Importing this module (the `bot`
package does) makes every engine in the process behave as with `hide_parameters=True`: the
statement is still shown, its values are not (they stay available to code as `exc.params`).
PostgreSQL adds row values to some messages itself ("DETAIL: Failing row contains (...)",
"Key (...)=(...)"); those details are replaced by a note as well.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_VALUES = re.compile(r"^(DETAIL:\s*)(Failing row contains|Key \().*$", re.MULTILINE)
HIDDEN = r"\1(values hidden)"


def redact(message: str) -> str:
    return _VALUES.sub(HIDDEN, message)


def _hide_parameters(context: Any) -> None:
    error = context.sqlalchemy_exception
    if error is None:
        return
    error.hide_parameters = True
    if error.args and isinstance(error.args[0], str):
        error.args = (redact(error.args[0]), *error.args[1:])


if not event.contains(Engine, "handle_error", _hide_parameters):
    event.listen(Engine, "handle_error", _hide_parameters)
