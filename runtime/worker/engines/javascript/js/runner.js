/* runner.js — one call's course inside the context: files, require, execute, settling.
 *
 * Owns: evaluating a function file (or a package's file) in its own function scope at its own
 * block of lines (so a stack line names its file), the per-file `require`, JS-to-JS
 * `context.functions.execute` in this same context, the reviewed global names, and the call's
 * settlement (a returned Promise is awaited; its value is turned into canonical EJSON the moment
 * it settles). The prelude function returns the object built here to Python and nothing else.
 * Must not: run the job queue (Python does, within the time limit), or let guest code reach
 * `call`, `host` or the runner object.
 */
let nextBlock = 2;
const lineMap = [];            // [firstLine, lastLine, fileLabel, bodyOffset]
const PromiseResolve = Promise.resolve, PromiseThen = Promise.prototype.then;
const BUILTINS = new Map();    // name -> module.exports, per call
const PACKAGE_FILES = new Map(); // key -> module, per call

function place(source, lines, label, first) {
  const block = first ? 0 : nextBlock;
  const blocks = MathTrunc((lines + 2) / BLOCK) + 1;
  if (!first) nextBlock += blocks;
  const start = block * BLOCK;
  lineMap.push([start + 1, start + blocks * BLOCK, label, start + 2]);
  return start === 0 ? source : "\n".repeat(start) + source;
}

/* A function file: `exports` and `require` are its own; `module` does not exist (§8.1). */
function loadFunctionFile(file, first) {
  const body = place(file.source, file.lines, file.filename, first);
  const scope = FunctionCtor("exports", "require", body + "\n;return exports;");
  const exported = ReflectApply(scope, undefined, [undefined, makeRequire(file.key, "", file.filename)]);
  if (typeof exported !== "function")
    throw new TypeError("exports must be a function, not '" + (exported === null ? "null" : typeof exported) + "' (in " + file.filename + ")");
  return exported;
}

function makeRequire(key, dir, functionFile) {
  return function require(name) {
    if (typeof name !== "string") throw new TypeError("require: the module name must be a string, got " + show(name) + " (in " + functionFile + ")");
    const found = JSONParse(call("require", JSONStringify([key, dir, name, functionFile])));
    if (found.builtin) return builtin(found.builtin, found.source);
    const id = key + "\u0000" + found.path;
    if (PACKAGE_FILES.has(id)) return PACKAGE_FILES.get(id).exports;
    const module = { exports: {}, id: found.path, filename: found.path, loaded: false };
    PACKAGE_FILES.set(id, module);
    if (found.json) { module.exports = JSONParse(found.source); module.loaded = true; return module.exports; }
    const body = place(found.source, found.lines, found.label, false);
    const scope = FunctionCtor("exports", "require", "module", "__filename", "__dirname", body);
    ReflectApply(scope, module.exports, [module.exports, makeRequire(key, found.dir, functionFile), module, found.path, found.dir]);
    module.loaded = true;
    return module.exports;
  };
}

function builtin(name, source) {
  if (BUILTINS.has(name)) return BUILTINS.get(name).exports;
  const module = { exports: {} };
  BUILTINS.set(name, module);
  const scope = FunctionCtor("exports", "require", "module", "BSON", "hostCall", "timers", PRELUDE_LINES + source);
  ReflectApply(scope, undefined, [module.exports, builtinRequire, module, BSON, builtinHost, TIMER_API]);
  return module.exports;
}
function builtinRequire(name) { const found = JSONParse(call("require", JSONStringify(["", "", name, "(built-in)"]))); return builtin(found.builtin, found.source); }
/* What a built-in module may ask the host: only the "node." operations (random bytes, digests). */
function builtinHost(op, args) {
  if (typeof op !== "string" || op.slice(0, 5) !== "node.") throw new TypeError("not a built-in operation");
  return callValue(op, args);
}

/* A JavaScript callee's file is evaluated once per call (its exports kept, as require does), so
 * a loop of executes neither re-parses it nor grows the line space. */
const CALLEES = new Map();
function makeFunctions() {
  return {
    execute(name, ...args) {
      if (typeof name !== "string") throw new TypeError("context.functions.execute: the function name must be a string, got " + show(name));
      let exported = CALLEES.get(name);
      if (exported === undefined) {
        const found = call("function.find", name);
        if (found !== "") { exported = loadFunctionFile(JSONParse(found), false); CALLEES.set(name, exported); }
      }
      if (exported !== undefined) return ReflectApply(exported, undefined, args);
      return callValue("function.execute", { name, arguments: args });
    },
  };
}

/* Globals guest code sees beyond the language's own: the reviewed list. */
const GLOBALS = ["context", "console", "utils", "EJSON", "BSON", "require", "setTimeout", "setInterval", "setImmediate",
                 "clearTimeout", "clearInterval", "clearImmediate"];

/* The call's result goes to the host the moment it is known, so it survives a later interrupt:
 * "0" + canonical EJSON ("0" alone: undefined), or "1" + JSON of the error. Once only. */
let settled = false;
function settleValue(value) {
  if (settled) return;
  let text;
  try { text = toEJSON(value, false); } catch (e) { settleError(e); return; }
  settled = true;
  call("settle", "0" + (text === undefined ? "" : text));
}
function settleError(e) {
  if (settled) return;
  settled = true;
  const d = describe(e);
  call("settle", "1" + JSONStringify({ name: d.name, message: d.message, stack: d.stack, lines: lineMap, thrownNull: d.thrownNull === true }));
}

function describe(e) {
  if (e === null) return { name: "", message: "null", stack: "", thrownNull: true };
  if (e !== null && (typeof e === "object" || typeof e === "function") && e instanceof ErrorCtor) {
    let name, message, stack;
    try { name = StringCtor(e.name); message = StringCtor(e.message); stack = typeof e.stack === "string" ? e.stack : ""; }
    catch (inner) { name = "Error"; message = "(its message could not be turned into text)"; stack = ""; }
    return { name, message, stack };
  }
  let text;
  try { text = StringCtor(e); } catch (inner) { text = "(the thrown value could not be turned into text)"; }
  return { name: "", message: text, stack: "" };
}

/* The globals of a call; `plain` holds the call's request, app and environment (absent for a
 * function another engine's function executes: it has the caller's context minus the request). */
function installGlobals(plain) {
  global.context = makeContext(plain, makeFunctions());
  global.console = makeConsole();
  global.utils = makeUtils();
  global.EJSON = EJSON;
  global.BSON = BSON;
  global.require = makeRequire(plain.main.key, "", plain.main.filename);
  for (const name of ObjectKeys(TIMER_API)) global[name] = TIMER_API[name];
}
function callAndSettle(plain, args) {
  try {
    const exported = loadFunctionFile(plain.main, true);
    const value = ReflectApply(exported, undefined, args);
    if (value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function") {
      ReflectApply(PromiseThen, ReflectApply(PromiseResolve, PromiseCtor, [value]), [settleValue, settleError]);
    } else settleValue(value);
  } catch (e) { settleError(e); }
}

const RUNNER = {
  timers() { return runTimers(); },
  pendingTimers() { return TIMERS.size; },
  start(text) {
    const plain = fromEJSON(text, true);
    installGlobals(plain);
    callAndSettle(plain, [makeArgument(plain, plain.serviceType), makeResponse()]);
  },
  /* context.functions.execute from a Python function: the arguments are the caller's values. */
  execute(text) {
    const plain = fromEJSON(text, true);
    installGlobals(plain);
    callAndSettle(plain, ArrayIsArray(plain.arguments) ? plain.arguments : []);
  },
};
/* The one thing the prelude hands Python: runner(command, text). */
return function runner(command, text) { return RUNNER[command](text); };
