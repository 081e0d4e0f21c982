/* values_more.js — the BSON types most calls never touch, built on first use.
 *
 * Owns: BSON.Decimal128, Long, Int32, Double, BSONRegExp, Timestamp, MinKey, MaxKey. Evaluated
 * at most once per call, by values.js's `more()` (a factory given its dependencies), so the
 * fresh context of a call that uses none of them does not pay to parse them.
 * Must not: reach anything but `deps`; hold per-call data (the context is the call's).
 */
"use strict";
const { call, show, defineHidden, ObjectCreate, ObjectDefineProperty, NumberIsInteger, NumberIsFinite, NumberCtor,
        StringCtor, BigIntCtor, BigIntAsIntN, MathTrunc, ArrayFrom, REGEX_OPTIONS } = deps;

function Decimal128(text) {
  if (!(this instanceof Decimal128)) return new Decimal128(text);
  if (typeof text !== "string") throw new TypeError("BSON.Decimal128: expected a string, got " + show(text));
  defineHidden(this, "_text", call("decimal", text));
}
Decimal128.fromString = function (text) { return new Decimal128(text); };
Decimal128.prototype.toString = function () { return this._text; };
Decimal128.prototype.toJSON = function () { return { $numberDecimal: this._text }; };

function Long(low, high) {
  if (!(this instanceof Long)) return new Long(low, high);
  if (high === undefined && typeof low === "string") return Long.fromString(low);
  if (high === undefined) return Long.fromNumber(low);
  if (typeof low !== "number" || typeof high !== "number" || !NumberIsInteger(low) || !NumberIsInteger(high))
    throw new TypeError("BSON.Long: low and high must be integers, got " + show(low) + " and " + show(high));
  defineHidden(this, "_big", BigIntAsIntN(64, (BigIntCtor(high | 0) << 32n) | BigIntCtor(low >>> 0)));
}
function longOf(big) { const l = ObjectCreate(Long.prototype); defineHidden(l, "_big", BigIntAsIntN(64, big)); return l; }
Long.fromNumber = function (n) {
  if (typeof n !== "number" || !NumberIsFinite(n)) throw new TypeError("BSON.Long.fromNumber: expected a finite number, got " + show(n));
  return longOf(BigIntCtor(MathTrunc(n)));
};
Long.fromString = function (text) {
  if (typeof text !== "string" || !/^[+-]?[0-9]+$/.test(text)) throw new TypeError("BSON.Long.fromString: " + show(text) + " is not a decimal integer");
  const big = BigIntCtor(text);
  if (big !== BigIntAsIntN(64, big)) throw new RangeError("BSON.Long.fromString: " + show(text) + " is outside the 64-bit range");
  return longOf(big);
};
Long.fromInt = function (n) { return Long.fromNumber(n | 0); };
Long.prototype.toNumber = function () { return NumberCtor(this._big); };
Long.prototype.toString = function (radix) { return this._big.toString(radix === undefined ? 10 : radix); };
Long.prototype.valueOf = function () { return NumberCtor(this._big); };
Long.prototype.toJSON = function () { return { $numberLong: this._big.toString() }; };
Long.prototype.equals = function (o) { return o instanceof Long ? o._big === this._big : NumberCtor(this._big) === o; };
ObjectDefineProperty(Long.prototype, "low", { get() { return NumberCtor(BigIntAsIntN(32, this._big)); } });
ObjectDefineProperty(Long.prototype, "high", { get() { return NumberCtor(BigIntAsIntN(32, this._big >> 32n)); } });

function numberBox(name, check) {
  function Box(value) {
    if (!(this instanceof Box)) return new Box(value);
    const n = typeof value === "string" ? NumberCtor(value) : value;
    if (typeof n !== "number" || !check(n)) throw new TypeError("BSON." + name + ": " + show(value) + " is not " + (name === "Int32" ? "a 32-bit integer" : "a number"));
    defineHidden(this, "value", n);
  }
  Box.prototype.valueOf = function () { return this.value; };
  Box.prototype.toString = function () { return StringCtor(this.value); };
  Box.prototype.toJSON = function () { return this.value; };
  ObjectDefineProperty(Box, "name", { value: name });
  return Box;
}
const Int32 = numberBox("Int32", (n) => NumberIsInteger(n) && n >= -2147483648 && n <= 2147483647);
const Double = numberBox("Double", () => true);

function BSONRegExp(pattern, options) {
  if (!(this instanceof BSONRegExp)) return new BSONRegExp(pattern, options);
  options = options === undefined ? "" : options;
  if (typeof pattern !== "string" || typeof options !== "string") throw new TypeError("BSON.BSONRegExp: pattern and options must be strings");
  for (const c of options) if (REGEX_OPTIONS.indexOf(c) < 0) throw new RangeError("BSON.BSONRegExp: option " + show(c) + " is not one of " + REGEX_OPTIONS);
  this.pattern = pattern;
  this.options = ArrayFrom(options).sort().join("");
}

function Timestamp(t, i) {
  if (!(this instanceof Timestamp)) return new Timestamp(t, i);
  if (t !== null && typeof t === "object" && i === undefined) { i = t.i; t = t.t; }
  const ok = (n) => typeof n === "number" && NumberIsInteger(n) && n >= 0 && n <= 4294967295;
  if (!ok(t) || !ok(i)) throw new TypeError("BSON.Timestamp: t and i must be integers from 0 to 4294967295");
  this.t = t; this.i = i;
}
function MinKey() { if (!(this instanceof MinKey)) return new MinKey(); }
function MaxKey() { if (!(this instanceof MaxKey)) return new MaxKey(); }

return { Decimal128, Long, longOf, Int32, Double, BSONRegExp, Timestamp, MinKey, MaxKey };
