"""
What a manager action returns; the protocol turns these into bytes, echoing
C{ActionID} on the response and on every event of a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Success:
    """C{Response: Success} with an optional C{Message:} and more fields."""

    message: str | None = None
    fields: tuple = ()


@dataclass(frozen=True)
class ListResponse:
    """
    A list answer: C{Response: Success}, C{EventList: start}, the events
    (each a (name, fields) pair), then C{<completeEvent>} with
    C{EventList: Complete} and C{ListItems: N}.
    """

    events: Sequence[tuple[str, Sequence[tuple[str, object]]]]
    completeEvent: str
    message: str = "Events will follow"
    completeFields: tuple = ()


@dataclass(frozen=True)
class CommandOutput:
    """The output of C{Action: Command}, written in the configured form."""

    text: str


@dataclass(frozen=True)
class Goodbye:
    """C{Response: Goodbye}; the connection closes once it is written."""

    message: str = "Thanks for all the fish."


@dataclass(frozen=True)
class Failure:
    """C{Response: Error}, for actions that prefer returning to raising."""

    message: str
    fields: tuple = ()
    close: bool = False
