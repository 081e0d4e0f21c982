/* values.js — the BSON value classes and EJSON, inside the guest's context.
 *
 * Owns: BSON.ObjectId and Binary (the rest of BSON is values_more.js, built on first use);
 * EJSON.stringify (canonical, {relaxed: true}) and EJSON.parse; `toEJSON` (the text a
 * value crosses the boundary as) and `fromEJSON`. Part of the prelude: runs inside the prelude's
 * strict function, sees `call` (the host bridge) and the intrinsics captured before guest code.
 * Must not: hold per-call data, expose `call` or any captured intrinsic to guest code, or decide
 * a rule Python already decides (hex/base64/decimal validation and UTF-8 go through the host).
 */
const HEX24 = /^[0-9a-fA-F]{24}$/;
const BINARY = new WeakMap();   // Binary -> [base64, subType]; never reachable from guest code

function ObjectId(hex) {
  if (!(this instanceof ObjectId)) return new ObjectId(hex);
  if (hex instanceof ObjectId) hex = hex.toHexString();
  if (hex === undefined || hex === null) hex = call("oid", "");
  else if (typeof hex !== "string" || !HEX24.test(hex))
    throw new TypeError("BSON.ObjectId: " + show(hex) + " is not 24 hex digits; allowed: a 24-digit hex string, an ObjectId or nothing");
  defineHidden(this, "_hex", StringLower(hex));
}
ObjectId.prototype.toHexString = function () { return this._hex; };
ObjectId.prototype.toString = function () { return this._hex; };
ObjectId.prototype.toJSON = function () { return this._hex; };
ObjectId.prototype.equals = function (other) {
  if (other instanceof ObjectId) return other._hex === this._hex;
  return typeof other === "string" && StringLower(other) === this._hex;
};
ObjectId.prototype.getTimestamp = function () { return new DateCtor(NumberParseInt(this._hex.slice(0, 8), 16) * 1000); };
ObjectId.isValid = function (v) { return v instanceof ObjectId || (typeof v === "string" && HEX24.test(v)); };

function Binary(data, subType) {
  if (!(this instanceof Binary)) return new Binary(data, subType);
  subType = subType === undefined ? 0 : subType;
  if (typeof subType !== "number" || !NumberIsInteger(subType) || subType < 0 || subType > 255)
    throw new RangeError("BSON.Binary: subtype must be an integer from 0 to 255, got " + show(subType));
  let b64;
  if (typeof data === "string") b64 = call("b64.fromText", data);
  else if (data instanceof Binary) b64 = BINARY.get(data)[0];
  else if (data instanceof Uint8Array || data instanceof ArrayBuffer || ArrayIsArray(data)) b64 = bytesToBase64(data);
  else throw new TypeError("BSON.Binary: data must be a string, an array of bytes or a Uint8Array, got " + show(data));
  BINARY.set(this, [b64, subType]);
}
function binaryOf(b64, subType) { const b = ObjectCreate(Binary.prototype); BINARY.set(b, [b64, subType]); return b; }
function binaryParts(b) { const p = BINARY.get(b); if (!p) throw new TypeError("not a BSON.Binary"); return p; }
Binary.prototype.text = function () { return call("b64.text", binaryParts(this)[0]); };
Binary.prototype.toBase64 = function () { return binaryParts(this)[0]; };
Binary.prototype.toHex = function () { return call("b64.hex", binaryParts(this)[0]); };
Binary.prototype.toString = function (enc) { return enc === "hex" ? this.toHex() : enc === "base64" ? this.toBase64() : this.text(); };
Binary.prototype.length = function () { return base64Length(binaryParts(this)[0]); };
Binary.prototype.value = function () { return base64ToBytes(binaryParts(this)[0]); };
ObjectDefineProperty(Binary.prototype, "sub_type", { get() { return binaryParts(this)[1]; } });
ObjectDefineProperty(Binary.prototype, "subType", { get() { return binaryParts(this)[1]; } });
Binary.fromText = function (text) {
  if (typeof text !== "string") throw new TypeError("BSON.Binary.fromText: expected a string, got " + show(text));
  return binaryOf(call("b64.fromText", text), 0);
};
Binary.fromHex = function (text) {
  if (typeof text !== "string") throw new TypeError("BSON.Binary.fromHex: expected a string, got " + show(text));
  return binaryOf(call("b64.fromHex", text), 0);
};
Binary.fromBase64 = function (text) {
  if (typeof text !== "string") throw new TypeError("BSON.Binary.fromBase64: expected a string, got " + show(text));
  return binaryOf(call("b64.check", text), 0);
};

const REGEX_OPTIONS = "ilmsux";
const MORE_NAMES = ["Decimal128", "Long", "Int32", "Double", "BSONRegExp", "Timestamp", "MinKey", "MaxKey"];
let MORE;  // values_more.js, once this call needs one of its types
function more() {
  if (MORE === undefined) {
    const factory = FunctionCtor("deps", PRELUDE_LINES + call("source", "values_more"));
    MORE = ReflectApply(factory, undefined, [{ call, show, defineHidden, ObjectCreate, ObjectDefineProperty, NumberIsInteger,
      NumberIsFinite, NumberCtor, StringCtor, BigIntCtor, BigIntAsIntN, MathTrunc, ArrayFrom, REGEX_OPTIONS }]);
  }
  return MORE;
}

function defineHidden(o, k, v) { ObjectDefineProperty(o, k, { value: v, enumerable: false, writable: false, configurable: false }); }

function bytesToBase64(data) {
  const view = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  let s = "";
  for (let i = 0; i < view.length; i++) {
    const b = view[i];
    if (typeof b !== "number" || !(b >= 0 && b <= 255)) throw new TypeError("BSON.Binary: byte " + i + " is not an integer from 0 to 255");
    s += StringFromCharCode(b & 255);
  }
  return btoaF(s);
}
function base64ToBytes(b64) { const s = atobF(b64); const out = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; }
function base64Length(b64) { return atobF(b64).length; }

/* ---- EJSON: value -> text ---------------------------------------------------------------- */
const MAX_DEPTH = 100;
const INT32_MIN = -2147483648, INT32_MAX = 2147483647, INT64_LIMIT = 9223372036854775808;

/* A finite double as Python's repr writes it (the Python engine's EJSON): the same shortest
 * digits as JavaScript, in fixed notation for exponents -4..15, else d.ddde±XX. */
function pyRepr(n) {
  if (n === 0) return 1 / n < 0 ? "-0.0" : "0.0";
  const exp = n.toExponential(), at = exp.indexOf("e");
  const sign = exp[0] === "-" ? "-" : "", mantissa = exp.slice(sign.length, at), e = NumberParseInt(exp.slice(at + 1), 10);
  const digits = mantissa.replace(".", "");
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    return sign + m + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
  }
  if (e < 0) return sign + "0." + "0".repeat(-e - 1) + digits;
  const whole = digits.length > e + 1 ? digits.slice(0, e + 1) : digits + "0".repeat(e + 1 - digits.length);
  const frac = digits.length > e + 1 ? digits.slice(e + 1) : "0";
  return sign + whole + "." + frac;
}
function doubleText(n) {
  if (n !== n) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return pyRepr(n);
}
function numberEJSON(n, relaxed) {
  if (NumberIsInteger(n) && !(n === 0 && 1 / n < 0)) {
    if (relaxed && n >= -INT64_LIMIT && n < INT64_LIMIT) return StringCtor(n);
    if (n >= INT32_MIN && n <= INT32_MAX) return '{"$numberInt":"' + n + '"}';
    if (n >= -INT64_LIMIT && n < INT64_LIMIT) return '{"$numberLong":"' + BigIntCtor(n) + '"}';
  }
  if (relaxed && NumberIsFinite(n)) return pyRepr(n);
  return '{"$numberDouble":"' + doubleText(n) + '"}';
}
function dateEJSON(d, relaxed) {
  const ms = DateGetTime(d);
  if (ms !== ms) throw new RangeError("EJSON: cannot serialise an invalid Date");
  if (relaxed && ms >= 0 && ms <= 253402300799999) {
    const iso = DateToISO(d);
    return '{"$date":"' + (ms % 1000 === 0 ? iso.slice(0, 19) + "Z" : iso) + '"}';
  }
  return '{"$date":{"$numberLong":"' + ms + '"}}';
}
function leafEJSON(v, relaxed) {
  /* instanceof can be spoofed (Symbol.hasInstance on a constructor): fields are written as JSON
   * strings, so a fake can only make invalid Extended JSON, which the host refuses. */
  if (v instanceof ObjectId) return '{"$oid":' + JSONStringify(StringCtor(v._hex)) + "}";
  if (v instanceof Binary) { const p = binaryParts(v); return '{"$binary":{"base64":"' + p[0] + '","subType":"' + (p[1] < 16 ? "0" : "") + p[1].toString(16) + '"}}'; }
  if (v instanceof RegExpCtor) return '{"$regularExpression":{"pattern":' + JSONStringify(v.source) + ',"options":' + JSONStringify(regexOptions(v.flags)) + "}}";
  if (v instanceof DateCtor) return dateEJSON(v, relaxed);
  const M = MORE;  // no instance of these can exist before they are built
  if (M === undefined) return undefined;
  if (v instanceof M.Decimal128) return '{"$numberDecimal":' + JSONStringify(StringCtor(v._text)) + "}";
  if (v instanceof M.Long) return typeof v._big !== "bigint" ? undefined : relaxed ? v._big.toString() : '{"$numberLong":"' + v._big + '"}';
  if (v instanceof M.Int32) return typeof v.value !== "number" ? undefined : relaxed ? StringCtor(v.value) : '{"$numberInt":"' + v.value + '"}';
  if (v instanceof M.Double) return relaxed && NumberIsFinite(v.value) ? pyRepr(v.value) : '{"$numberDouble":"' + doubleText(v.value) + '"}';
  if (v instanceof M.BSONRegExp) return '{"$regularExpression":{"pattern":' + JSONStringify(StringCtor(v.pattern)) + ',"options":' + JSONStringify(StringCtor(v.options)) + "}}";
  if (v instanceof M.Timestamp) return '{"$timestamp":{"t":' + (v.t >>> 0) + ',"i":' + (v.i >>> 0) + "}}";
  if (v instanceof M.MinKey) return '{"$minKey":1}';
  if (v instanceof M.MaxKey) return '{"$maxKey":1}';
  return undefined;
}
function regexOptions(flags) { let o = ""; for (const c of REGEX_OPTIONS) if (flags.indexOf(c) >= 0) o += c; return o; }

function toEJSON(value, relaxed) {
  let depth = 0;
  function walk(v, key, holder) {
    if (v !== null && typeof v === "object" && typeof v.toJSON === "function" && leafEJSON(v, relaxed) === undefined) v = v.toJSON(key);
    if (typeof v === "function" && isCursor(v)) v = materialise(v);
    switch (typeof v) {
      case "string": return JSONStringify(v);
      case "number": return numberEJSON(v, relaxed);
      case "boolean": return v ? "true" : "false";
      case "undefined": case "function": case "symbol": return undefined;
      case "bigint": throw new TypeError("EJSON: cannot serialise a BigInt; use BSON.Long");
    }
    if (v === null) return "null";
    const leaf = leafEJSON(v, relaxed);
    if (leaf !== undefined) return leaf;
    if (isCursor(v)) v = materialise(v);
    if (++depth > MAX_DEPTH) throw new RangeError("EJSON: cannot serialise a value nested more than " + MAX_DEPTH + " levels deep (or a cycle)");
    /* Built by concatenation only: guest code may have replaced Array.prototype.join or push. */
    let out, sep = "";
    if (ArrayIsArray(v)) {
      out = "[";
      const n = v.length;
      for (let i = 0; i < n; i++) { const s = walk(v[i], StringCtor(i), v); out += sep + (s === undefined ? "null" : s); sep = ","; }
      out += "]";
    } else {
      out = "{";
      const keys = ObjectKeys(v);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i], s = walk(v[k], k, v);
        if (s !== undefined) { out += sep + JSONStringify(k) + ":" + s; sep = ","; }
      }
      out += "}";
    }
    depth--;
    return out;
  }
  return walk(value, "", undefined);
}

/* A cursor of the data service (services.js) returned as a value is materialised as an array of
 * the documents it has not yet given (contract §4.2), through its own function, not its toArray
 * (which answers a Promise, and which guest code may have replaced). */
const CURSOR = SymbolCtor("atlasfn.cursor"), CURSOR_REST = SymbolCtor("atlasfn.cursor.rest");
function isCursor(v) { return v !== null && (typeof v === "object" || typeof v === "function") && v[CURSOR] === true && typeof v[CURSOR_REST] === "function"; }
function materialise(cursor) { return cursor[CURSOR_REST](); }

/* ---- EJSON: text -> value ---------------------------------------------------------------- */
function fromEJSON(text, relaxed) {
  return revive(JSONParse(text), relaxed === undefined ? true : relaxed);
}
function revive(v, relaxed) {
  if (v === null || typeof v !== "object") return v;
  if (ArrayIsArray(v)) { for (let i = 0; i < v.length; i++) v[i] = revive(v[i], relaxed); return v; }
  const keys = ObjectKeys(v);
  if (keys.length > 0 && keys[0][0] === "$") { const t = typed(v, keys, relaxed); if (t !== NOT_TYPED) return t; }
  for (const k of keys) {
    const r = revive(v[k], relaxed);
    /* A "__proto__" key (a request header may be named so) must stay an own property. JSON.parse
     * makes it one; defining it (not assigning) keeps that true even if this object was not
     * made by JSON.parse, where an assignment would run the setter and set the prototype. */
    if (k === "__proto__") ObjectDefineProperty(v, k, { value: r, writable: true, enumerable: true, configurable: true });
    else v[k] = r;
  }
  return v;
}
const NOT_TYPED = {};
function typed(v, keys, relaxed) {
  const k = keys[0], x = v[k];
  if (keys.length === 1) switch (k) {
    case "$oid": return new ObjectId(x);
    case "$numberInt": return relaxed ? NumberParseInt(x, 10) : new (more().Int32)(NumberParseInt(x, 10));
    case "$numberDouble": return relaxed ? NumberCtor(x) : new (more().Double)(NumberCtor(x));
    case "$numberLong": { const n = NumberCtor(x); return relaxed && NumberIsSafeInteger(n) ? n : more().Long.fromString(x); }
    case "$numberDecimal": return new (more().Decimal128)(x);
    case "$date": return new DateCtor(typeof x === "string" ? DateParse(x) : typeof x === "number" ? x : NumberCtor(x.$numberLong));
    case "$binary": return binaryOf(call("b64.check", x.base64), NumberParseInt(x.subType, 16));
    case "$regularExpression": return new (more().BSONRegExp)(x.pattern, x.options);
    case "$timestamp": return new (more().Timestamp)(x.t, x.i);
    case "$minKey": return new (more().MinKey)();
    case "$maxKey": return new (more().MaxKey)();
    case "$undefined": return undefined;
  }
  return NOT_TYPED;
}

const EJSON = {
  stringify(value, replacer, space, options) {
    if (options === undefined && replacer !== null && typeof replacer === "object" && !ArrayIsArray(replacer)) options = replacer;
    const relaxed = options !== undefined && options !== null && options.relaxed === true;
    if (options !== undefined && options !== null) {
      for (const k of ObjectKeys(options)) if (k !== "relaxed") throw new TypeError("EJSON.stringify: unknown option " + show(k) + "; the only allowed option is 'relaxed'");
    }
    return toEJSON(value, relaxed);
  },
  parse(text, options) {
    if (typeof text !== "string") throw new TypeError("EJSON.parse: the argument must be a string, got " + show(text));
    return fromEJSON(text, !(options && options.relaxed === false));
  },
  serialize(value) { return fromEJSON(toEJSON(value, false), false); },
  deserialize(value) { return fromEJSON(toEJSON(value, false), true); },
};

const BSON = { ObjectId, Binary };
for (const name of MORE_NAMES) ObjectDefineProperty(BSON, name, { get() { return more()[name]; }, enumerable: true, configurable: true });
