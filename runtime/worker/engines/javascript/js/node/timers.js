/* timers.js (module) — require("timers"): the same functions as the globals (js/timers.js).
 * Owns nothing of its own. Must not: hand out anything but the six functions.
 */
"use strict";
module.exports = {
  setTimeout: timers.setTimeout, setInterval: timers.setInterval, setImmediate: timers.setImmediate,
  clearTimeout: timers.clearTimeout, clearInterval: timers.clearInterval, clearImmediate: timers.clearImmediate,
};
