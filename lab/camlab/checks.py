"""Validation helpers for persona tables: camscan's TableReader, raising one PersonaError line per problem."""

from __future__ import annotations

from camscan.tomltables import TableReader


class PersonaError(ValueError):
    """A persona file is missing, unreadable or invalid; the message is one line naming the file."""


_READ = TableReader(PersonaError)
fail = _READ.fail
check_keys = _READ.check_keys
table = _READ.table
string = _READ.string
flag = _READ.flag
integer = _READ.integer
port = _READ.port
strings = _READ.strings
pairs = _READ.pairs
