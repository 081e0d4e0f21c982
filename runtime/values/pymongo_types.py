"""Host side: the guest's BSON values as pymongo's types, for the driver that writes them.

Owns: ``to_pymongo``, which the server's MongoDB service applies to what a worker sent (a guest
``Long`` would otherwise be written as the int32 its value fits, an ObjectId facade not at all).
Must not be bound into guest code, or do I/O.
"""

from __future__ import annotations

from typing import Any

import bson.binary
import bson.int64
import bson.max_key
import bson.min_key
import bson.objectid
import bson.regex
import bson.timestamp

from runtime.values.bsontypes import Binary, BSONRegExp, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp


def to_pymongo(value: Any) -> Any:
    """Host side: the guest's BSON values in ``value`` (dicts and lists walked) as pymongo's
    types, for a driver that writes them (a ``Long`` would otherwise be written as the int32
    its value fits). Other values are returned as they are; containers are new."""
    kind = type(value)
    if kind is dict:
        return {key: to_pymongo(item) for key, item in value.items()}
    if kind is list:
        return [to_pymongo(item) for item in value]
    convert = _TO_PYMONGO.get(kind)
    return value if convert is None else convert(value)


_TO_PYMONGO: dict[type, Any] = {
    Long: lambda v: bson.int64.Int64(int(v)),
    ObjectId: lambda v: bson.objectid.ObjectId(object.__getattribute__(v, "_id")),
    Binary: lambda v: bson.binary.Binary(bytes(v), v.subtype),
    Decimal128: lambda v: object.__getattribute__(v, "_value"),
    BSONRegExp: lambda v: bson.regex.Regex(object.__getattribute__(v, "_pattern"), object.__getattribute__(v, "_options")),
    Timestamp: lambda v: bson.timestamp.Timestamp(object.__getattribute__(v, "_t"), object.__getattribute__(v, "_i")),
    MinKey: lambda v: bson.min_key.MinKey(),
    MaxKey: lambda v: bson.max_key.MaxKey(),
}
