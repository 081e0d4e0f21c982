/* timers.js — setTimeout, setInterval, setImmediate and their clear* (App Services listed Node's
 * timers as supported), on a timer table of this call's own.
 *
 * Owns: the call's timers and running the due ones when Python asks (runner command "timers"),
 * in order of due time. Python waits, in real time, for the next one only while the returned
 * value is not yet settled and within the time limit; once the value is settled, timers still
 * pending are dropped (a WARN line counts them), so a forgotten setInterval cannot hold a worker.
 * Part of the prelude. Must not: run a string as code (setTimeout("code") is refused), or keep
 * more than MAX_TIMERS pending.
 */
const TIMERS = new Map();   // id -> [callback, dueAt, args, intervalOrMinus1]
const MAX_TIMERS = 1000;    // contract §8.5: async operations, 1000
const DateNow = Date.now, MathMax = Math.max;
let timerSeq = 0;

function addTimer(name, callback, ms, args, repeat) {
  if (typeof callback !== "function")
    throw new TypeError(name + ": the callback must be a function, got " + show(callback) + " (a string of code is not run)");
  if (TIMERS.size >= MAX_TIMERS) throw new RangeError("exceeded max async work queue size of " + MAX_TIMERS);
  let delay = NumberCtor(ms);
  if (!(delay >= 1 && delay <= 2147483647)) delay = repeat || name !== "setImmediate" ? 1 : 0;  // as Node
  const id = ++timerSeq;
  TIMERS.set(id, [callback, DateNow() + delay, args, repeat ? delay : -1]);
  return id;
}
function clearTimer(id) { TIMERS.delete(NumberCtor(id)); }

const TIMER_API = {
  setTimeout(callback, ms, ...args) { return addTimer("setTimeout", callback, ms, args, false); },
  setInterval(callback, ms, ...args) { return addTimer("setInterval", callback, ms, args, true); },
  setImmediate(callback, ...args) { return addTimer("setImmediate", callback, 0, args, false); },
  clearTimeout: clearTimer, clearInterval: clearTimer, clearImmediate: clearTimer,
};

/* Run every timer due now, earliest first; return ms until the next one, or -1 when none is left.
 * A timer's throw is the call's error if the value is not settled yet. */
function runTimers() {
  const now = DateNow();
  let due = [];
  TIMERS.forEach((t, id) => { if (t[1] <= now) due.push(id); });
  due = due.sort((a, b) => TIMERS.get(a)[1] - TIMERS.get(b)[1] || a - b);
  for (const id of due) {
    const t = TIMERS.get(id);
    if (t === undefined) continue;  // cleared by an earlier one
    if (t[3] >= 0) t[1] = DateNow() + t[3]; else TIMERS.delete(id);
    try { ReflectApply(t[0], undefined, t[2]); } catch (e) { settleError(e); }
  }
  if (TIMERS.size === 0) return -1;
  let next = Infinity;
  TIMERS.forEach((t) => { if (t[1] < next) next = t[1]; });
  return MathMax(0, next - DateNow());
}
