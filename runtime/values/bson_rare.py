"""The rarer BSON values of the guest API: ``BSONRegExp``, ``Timestamp``, ``MinKey``, ``MaxKey``.

Owns: those value classes (facades of our own, re-exported by ``runtime.values.bsontypes``) and
the regular-expression options guest code may use (red-team F8: the documented string only).
Must not do I/O or hand a guest pymongo's classes.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from runtime.values.bsontypes import REGEX_OPTIONS, _REGEX_FLAGS, _ReadOnly


class BSONRegExp(_ReadOnly):
    """``BSON.BSONRegExp`` values: a pattern and its options as the letters ``ilmsux``."""

    __slots__ = ("_pattern", "_options")

    def __init__(self, pattern: str, options: str) -> None:  # host side only: options already checked
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_options", options)

    @property
    def pattern(self) -> str:
        return self._pattern  # type: ignore[no-any-return]

    @property
    def options(self) -> str:
        return self._options  # type: ignore[no-any-return]

    def try_compile(self) -> re.Pattern[str]:
        """The pattern compiled by Python's ``re``, with the flags its options name. Warnings
        ``re`` would print (``FutureWarning`` for a possible set) are not written anywhere."""
        if "l" in self._options:
            raise ValueError(f"BSONRegExp.try_compile: option 'l' has no meaning for a Python pattern; "
                             f"allowed: {', '.join(_REGEX_FLAGS)}")
        flags = 0
        for option in self._options:
            flags |= _REGEX_FLAGS[option]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(self._pattern, flags)

    def __repr__(self) -> str:
        return f"BSONRegExp({self._pattern!r}, {self._options!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is BSONRegExp and (other._pattern, other._options) == (self._pattern, self._options)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self._pattern, self._options))

    def __reduce__(self) -> tuple[Any, ...]:
        return BSONRegExp, (self._pattern, self._options)


def regex_options(options: str, caller: str = "BSON.BSONRegExp") -> str:
    """Options as the canonical string: each letter once, in the order ``ilmsux``."""
    for option in options:
        if option not in REGEX_OPTIONS:
            raise ValueError(f"{caller}: option {option!r} is not one of {', '.join(REGEX_OPTIONS)}")
    return "".join(option for option in REGEX_OPTIONS if option in options)


# --- Timestamp, MinKey, MaxKey ----------------------------------------------------------------

class Timestamp(_ReadOnly):
    """``BSON.Timestamp`` values: seconds ``t`` and an increment ``i``, each 32 bits."""

    __slots__ = ("_t", "_i")

    def __init__(self, t: int, i: int) -> None:  # host side only: already checked
        object.__setattr__(self, "_t", t)
        object.__setattr__(self, "_i", i)

    @property
    def t(self) -> int:
        return self._t  # type: ignore[no-any-return]

    @property
    def i(self) -> int:
        return self._i  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Timestamp({self._t}, {self._i})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Timestamp and (other._t, other._i) == (self._t, self._i)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self._t, self._i))

    def __reduce__(self) -> tuple[Any, ...]:
        return Timestamp, (self._t, self._i)


class MinKey(_ReadOnly):
    """``BSON.MinKey()``: lower than every other BSON value; all MinKeys are equal."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MinKey()"

    def __eq__(self, other: object) -> bool:
        return type(other) is MinKey

    def __ne__(self, other: object) -> bool:
        return type(other) is not MinKey

    def __hash__(self) -> int:
        return hash("MinKey")

    def __reduce__(self) -> tuple[Any, ...]:
        return MinKey, ()


class MaxKey(_ReadOnly):
    """``BSON.MaxKey()``: higher than every other BSON value; all MaxKeys are equal."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MaxKey()"

    def __eq__(self, other: object) -> bool:
        return type(other) is MaxKey

    def __ne__(self, other: object) -> bool:
        return type(other) is not MaxKey

    def __hash__(self) -> int:
        return hash("MaxKey")

    def __reduce__(self) -> tuple[Any, ...]:
        return MaxKey, ()


# --- the BSON namespace ----------------------------------------------------------------------
