/* api.js — the App Services guest API of one call: payload, response, context, console, utils.
 *
 * Owns: the JavaScript faces of the per-call objects, built from the call's plain values.
 * Every rule lives on the host: `response` calls runtime.contract.response.Response's setters,
 * utils.crypto calls runtime.values.crypto, console lines go to runtime.worker.console.Console,
 * context.values.get reads the app's values there. Part of the prelude (sees `call`,
 * `callValue` and the captured intrinsics). Must not re-implement a check the host makes, or
 * hand guest code a captured intrinsic or the bridge.
 */
function trimArgs(args) { let n = args.length; while (n > 0 && args[n - 1] === undefined) n--; return args.slice(0, n); }

function makeResponse() {
  const response = {};
  for (const method of ["setStatusCode", "setBody", "setHeader", "addHeader"]) {
    const f = {
      [method](...args) {
        args = trimArgs(args);
        if (method === "setBody" && args.length > 0) args[0] = bodyValue(args[0]);
        callValue("response", [method, ...args]);
        return response;
      },
    }[method];
    ObjectDefineProperty(response, method, { value: f, enumerable: true, writable: false, configurable: false });
  }
  return ObjectFreeze(response);
}
/* setBody takes strings, BSON.Binary, ObjectId, numbers and booleans as they are (the contract's
 * Response decides); any other value goes through String(), as App Services did. */
function bodyValue(v) {
  if (v === null || v === undefined || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (v instanceof Binary || v instanceof ObjectId) return v;
  if (v instanceof Uint8Array) return new Binary(v);
  return StringCtor(v);
}

function formatLine(args) {
  const parts = [];
  for (const a of args) {
    if (typeof a === "string") { parts.push(a); continue; }
    if (a === undefined || typeof a === "function" || typeof a === "symbol" || typeof a === "bigint") { parts.push(a === undefined ? "undefined" : typeof a === "function" ? "[Function" + (a.name ? ": " + a.name : "") + "]" : StringCtor(a)); continue; }
    if (a instanceof ErrorCtor) { parts.push(StringCtor(a.stack ? a.name + ": " + a.message : a)); continue; }
    let text;
    try { text = toEJSON(a, true); } catch (e) { text = undefined; }
    parts.push(text === undefined ? StringCtor(a) : text);
  }
  return parts.join(" ");
}
function makeConsole() {
  const c = {};
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    c[level] = { [level](...args) { call("console", level + ":" + formatLine(args)); } }[level];
  }
  c.trace = c.debug;
  return c;
}

/* utils.crypto and utils.jwt: one host operation per function of runtime/values/guest_utils.py. */
function makeUtils() {
  const utils = {};
  for (const space of ObjectKeys(GUEST_API.utils)) {
    const functions = {};
    for (const name of GUEST_API.utils[space]) {
      const op = "utils." + space + "." + name;
      functions[name] = method(name, (...args) => callValue(op, trimArgs(args)));
    }
    utils[space] = functions;
  }
  return utils;
}

function makeContext(plain, functions) {
  const user = plain.user;  // contract.credentials.context_user, decided by the server
  const system = user.type === "system";
  return {
    request: plain.request,
    app: plain.app,
    environment: plain.environment,
    user,
    values: {
      get(name) {
        if (typeof name !== "string") throw new TypeError("context.values.get: the name must be a string, got " + show(name));
        return callValue("values.get", [name]);
      },
    },
    services: makeServices(),
    http: makeHttp(GUEST_API.contextHttp),
    functions,
    runningAsSystem() { return system; },
  };
}

/* The first argument: {query, headers, body} with body a BSON.Binary or undefined (§3.1), the
 * parsed event (github) or the form's fields (twilio). */
function makeArgument(plain, serviceType) {
  const arg = plain.argument;
  if (serviceType !== "github" && serviceType !== "twilio" && arg !== null && typeof arg === "object" && arg.body === null) arg.body = undefined;
  return arg;
}
