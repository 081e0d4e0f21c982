/* prelude.js — the first and last word in every fresh context: captures, lockdown, the bridge.
 *
 * Owns: taking the host callback off the global object (it never stays reachable), capturing
 * the intrinsics the prelude relies on before guest code can replace them, removing globals
 * guest code must not see, locking Error.prepareStackTrace, and the `call` bridge (EJSON text
 * in and out; an error marker from the host becomes a JS throw). Evaluated as the opening of
 * one strict function whose other parts are values.js, api.js and runner.js.
 * Must not: keep anything between calls (the context is thrown away), leave a name on the
 * global object that was not reviewed (see GLOBALS in runner.js), or call guest code.
 */
const host = global.__atlasfn_host;
delete global.__atlasfn_host;

const ObjectDefineProperty = Object.defineProperty, ObjectKeys = Object.keys, ObjectCreate = Object.create;
const ObjectFreeze = Object.freeze, ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
const ArrayIsArray = Array.isArray, ArrayFrom = Array.from;
const JSONStringify = JSON.stringify, JSONParse = JSON.parse;
const NumberCtor = Number, NumberIsInteger = Number.isInteger, NumberIsFinite = Number.isFinite;
const NumberIsSafeInteger = Number.isSafeInteger, NumberParseInt = Number.parseInt, MathTrunc = Math.trunc;
const StringCtor = String, StringFromCharCode = String.fromCharCode;
const StringLower = (s) => String.prototype.toLowerCase.call(s);
const BigIntCtor = BigInt, BigIntAsIntN = BigInt.asIntN, SymbolCtor = Symbol;
const DateCtor = Date, DateParse = Date.parse, RegExpCtor = RegExp;
const DateGetTime = (d) => Date.prototype.getTime.call(d), DateToISO = (d) => Date.prototype.toISOString.call(d);
const FunctionCtor = Function, PromiseCtor = Promise, ErrorCtor = Error;
const ErrorCaptureStackTrace = Error.captureStackTrace, StringSlice = String.prototype.slice;
const StringToWellFormed = String.prototype.toWellFormed;
const ReflectApply = Reflect.apply;
const atobF = atob, btoaF = btoa;
const BLOCK = 20000;  // lines per block of the call's line space (runner.js); block 1 is the prelude's
/* Put in front of code the prelude evaluates later (values_more.js, built-in modules), so its
 * stack frames fall in the prelude's block (a Function body starts on line 3) and are dropped. */
const PRELUDE_LINES = "\n".repeat(BLOCK - 2);
const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError, URIError, EvalError };

/* Names guest code must not see: shared memory and its atomics (no threads here, and a timing
 * primitive), and the engine's own extras that App Services never had. */
for (const name of ["SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry", "performance", "__atlasfn_host"]) delete global[name];
/* V8's stack API hands out the function of every frame (CallSite.getFunction): a guest could
 * pick up a prelude function from it. Locked to "not set", for the whole call. */
ObjectDefineProperty(ErrorCtor, "prepareStackTrace", { value: undefined, writable: false, configurable: false, enumerable: false });

function show(v) {
  if (typeof v === "string") { const s = JSONStringify(v); return s.length <= 60 ? s : s.slice(0, 57) + '..."'; }
  if (typeof v === "number" || typeof v === "boolean" || v === undefined || v === null) return StringCtor(v);
  if (typeof v === "function") return "a function";
  return ArrayIsArray(v) ? "an array" : "a value of type '" + typeof v + "'";
}

/* A throw from the prelude shows the guest's frames only: `from` is the public function called. */
function fail(Kind, message, from) {
  const e = new Kind(message);
  if (from) ErrorCaptureStackTrace(e, from);
  return e;
}

/* The bridge. The host answers "0<text>" or "1<JSON [name, message]>". Strings go over flat and
 * well-formed: the binding cannot convert QuickJS-ng's rope strings (long concatenations) nor a
 * lone surrogate, and a failed conversion leaves a Python error set. So every argument is made
 * well-formed (a lone surrogate becomes U+FFFD, as Python's UTF-8 for the guest does) and copied. */
function flat(s) { return ReflectApply(StringSlice, ReflectApply(StringToWellFormed, s, []), [0]); }
function call(op, arg) {
  const answer = host(flat(op), flat(arg));
  if (typeof answer !== "string") throw new ErrorCtor("atlas-fn: the host answered " + op + " with no text");
  const rest = ReflectApply(StringSlice, answer, [1]);  // not answer.slice: guest code may have replaced it
  if (ReflectApply(StringSlice, answer, [0, 1]) === "0") return rest;
  const pair = JSONParse(rest);
  const Kind = ERRORS[pair[0]] || ErrorCtor;
  const e = new Kind(pair[1]);
  if (!ERRORS[pair[0]] && pair[0]) ObjectDefineProperty(e, "name", { value: pair[0], configurable: true, writable: true });
  throw e;
}
/* Host operations that take and return values: arguments go as canonical EJSON, so types survive. */
function callValue(op, args) {
  const text = call(op, toEJSON(args, false));
  return text === "" ? undefined : fromEJSON(text, true);
}
