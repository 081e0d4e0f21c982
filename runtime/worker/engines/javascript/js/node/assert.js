/* assert.js — require("assert"): Node's assert with ok, equal, strictEqual, deepEqual,
 * deepStrictEqual (and their negations), throws, rejects and fail; AssertionError.
 * Owns: the comparisons and messages. Plain JavaScript. Must not: reach anything but its arguments.
 */
"use strict";
const util = require("util");
class AssertionError extends Error {
  constructor(options) {
    super(options.message);
    this.name = "AssertionError";
    this.code = "ERR_ASSERTION";
    this.actual = options.actual; this.expected = options.expected; this.operator = options.operator;
  }
}
function fail(message, actual, expected, operator, defaultText) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message: message !== undefined ? message : defaultText, actual, expected, operator });
}
function looseDeep(a, b) {
  if (a == b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => looseDeep(a[k], b[k]));
}
function assert(value, message) { if (!value) fail(message, value, true, "==", "The expression evaluated to a falsy value: " + util.inspect(value)); }
assert.ok = assert;
assert.AssertionError = AssertionError;
assert.fail = (message) => fail(message, undefined, undefined, "fail", "Failed");
assert.equal = (a, b, m) => { if (!(a == b)) fail(m, a, b, "==", util.inspect(a) + " == " + util.inspect(b)); };
assert.notEqual = (a, b, m) => { if (a == b) fail(m, a, b, "!=", util.inspect(a) + " != " + util.inspect(b)); };
assert.strictEqual = (a, b, m) => { if (!Object.is(a, b)) fail(m, a, b, "strictEqual", "Expected values to be strictly equal:\n\n" + util.inspect(a) + " !== " + util.inspect(b)); };
assert.notStrictEqual = (a, b, m) => { if (Object.is(a, b)) fail(m, a, b, "notStrictEqual", "Expected \"actual\" to be strictly unequal to: " + util.inspect(b)); };
assert.deepEqual = (a, b, m) => { if (!looseDeep(a, b)) fail(m, a, b, "deepEqual", "Expected values to be loosely deep-equal:\n\n" + util.inspect(a) + "\n\nshould loosely deep-equal\n\n" + util.inspect(b)); };
assert.notDeepEqual = (a, b, m) => { if (looseDeep(a, b)) fail(m, a, b, "notDeepEqual", "Expected \"actual\" not to be loosely deep-equal to: " + util.inspect(b)); };
assert.deepStrictEqual = (a, b, m) => { if (!util.isDeepStrictEqual(a, b)) fail(m, a, b, "deepStrictEqual", "Expected values to be strictly deep-equal:\n" + util.inspect(a) + " !== " + util.inspect(b)); };
assert.notDeepStrictEqual = (a, b, m) => { if (util.isDeepStrictEqual(a, b)) fail(m, a, b, "notDeepStrictEqual", "Expected \"actual\" not to be strictly deep-equal to: " + util.inspect(b)); };
function matches(error, expected) {
  if (expected === undefined) return true;
  if (typeof expected === "function") return expected.prototype !== undefined && error instanceof expected ? true : expected.prototype === undefined ? expected(error) === true : false;
  if (expected instanceof RegExp) return expected.test(String(error && error.message !== undefined ? error.message : error));
  if (typeof expected === "object") return Object.keys(expected).every((k) => (expected[k] instanceof RegExp ? expected[k].test(error[k]) : util.isDeepStrictEqual(error[k], expected[k])));
  return true;
}
assert.throws = (f, expected, m) => {
  if (typeof expected === "string") { m = expected; expected = undefined; }
  try { f(); } catch (e) { if (!matches(e, expected)) throw e; return; }
  fail(m, undefined, expected, "throws", "Missing expected exception.");
};
assert.doesNotThrow = (f, m) => { try { f(); } catch (e) { fail(m, e, undefined, "doesNotThrow", "Got unwanted exception.\nActual message: \"" + (e && e.message) + "\""); } };
assert.rejects = async (p, expected, m) => {
  try { await (typeof p === "function" ? p() : p); } catch (e) { if (!matches(e, expected)) throw e; return; }
  fail(m, undefined, expected, "rejects", "Missing expected rejection.");
};
assert.strict = assert;
module.exports = assert;
