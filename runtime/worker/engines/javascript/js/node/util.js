/* util.js — require("util"): format, inspect (the basics), inherits, promisify, isDeepStrictEqual, types.
 * Owns: turning values into log text the way Node roughly does. Plain JavaScript.
 * Must not: reach anything but its arguments.
 */
"use strict";
function inspect(value, options) {
  const depthLimit = options && typeof options.depth === "number" ? options.depth : 2;
  const seen = [];
  function show(v, depth) {
    if (typeof v === "string") return depth === 0 ? v : "'" + v.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n") + "'";
    if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
    if (typeof v === "bigint") return v + "n";
    if (v === undefined || v === null || typeof v === "boolean" || typeof v === "symbol") return String(v);
    if (typeof v === "function") return "[Function: " + (v.name || "(anonymous)") + "]";
    if (v instanceof Error) return v.stack || String(v);
    if (v instanceof Date) return isNaN(v) ? "Invalid Date" : v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (v instanceof BSON.ObjectId) return "new ObjectId(\"" + v.toHexString() + "\")";
    if (seen.indexOf(v) >= 0) return "[Circular]";
    if (depth > depthLimit) return Array.isArray(v) ? "[Array]" : "[Object]";
    seen.push(v);
    let out;
    if (Array.isArray(v)) out = v.length ? "[ " + v.map((x) => show(x, depth + 1)).join(", ") + " ]" : "[]";
    else {
      const keys = Object.keys(v);
      const body = keys.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : "'" + k + "'") + ": " + show(v[k], depth + 1)).join(", ");
      out = keys.length ? "{ " + body + " }" : "{}";
    }
    seen.pop();
    return out;
  }
  return show(value, typeof value === "string" ? 1 : 1) && (typeof value === "string" ? "'" + value + "'" : show(value, 1));
}
function format(first, ...args) {
  if (typeof first !== "string") return [first, ...args].map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
  let i = 0;
  let out = first.replace(/%[sdifjoO%]/g, (m) => {
    if (m === "%%") return "%";
    if (i >= args.length) return m;
    const a = args[i++];
    switch (m) {
      case "%s": return typeof a === "string" ? a : typeof a === "object" && a !== null ? inspect(a) : String(a);
      case "%d": case "%i": { const n = Number(a); return String(m === "%i" ? Math.trunc(n) : n); }
      case "%f": return String(parseFloat(a));
      case "%j": try { return JSON.stringify(a); } catch (e) { return "[Circular]"; }
      default: return inspect(a);
    }
  });
  for (; i < args.length; i++) out += " " + (typeof args[i] === "string" ? args[i] : inspect(args[i]));
  return out;
}
function isDeepStrictEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === b.getTime();
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual(a[k], b[k]));
}
module.exports = {
  format, inspect, isDeepStrictEqual,
  inherits(ctor, superCtor) { Object.setPrototypeOf(ctor.prototype, superCtor.prototype); Object.setPrototypeOf(ctor, superCtor); ctor.super_ = superCtor; },
  promisify(f) { return (...args) => new Promise((resolve, reject) => f(...args, (err, value) => (err ? reject(err) : resolve(value)))); },
  isArray: Array.isArray,
  types: { isDate: (v) => v instanceof Date, isRegExp: (v) => v instanceof RegExp, isPromise: (v) => v instanceof Promise },
};
