/* querystring.js — require("querystring"): parse, stringify, escape, unescape (Node's legacy API).
 * Owns: form/query text <-> objects, repeated keys as arrays, "+" as a space. Plain JavaScript.
 * Must not: reach anything but its arguments.
 */
"use strict";
function unescape(s) {
  s = String(s).replace(/\+/g, " ");
  try { return decodeURIComponent(s); } catch (e) { return s.replace(/%([0-9a-fA-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))); }
}
function escape(s) { return encodeURIComponent(String(s)).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()); }
function parse(text, sep, eq, options) {
  sep = sep || "&"; eq = eq || "=";
  const max = options && typeof options.maxKeys === "number" ? options.maxKeys : 1000;
  const out = {};
  if (typeof text !== "string" || text.length === 0) return out;
  let parts = text.split(sep);
  if (max > 0) parts = parts.slice(0, max);
  for (const part of parts) {
    if (!part) continue;
    const i = part.indexOf(eq);
    const k = unescape(i >= 0 ? part.slice(0, i) : part), v = i >= 0 ? unescape(part.slice(i + eq.length)) : "";
    if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
    else if (Array.isArray(out[k])) out[k].push(v);
    else out[k] = [out[k], v];
  }
  return out;
}
function value(v) { return typeof v === "string" ? v : typeof v === "number" && isFinite(v) ? String(v) : typeof v === "boolean" ? String(v) : ""; }
function stringify(obj, sep, eq) {
  sep = sep || "&"; eq = eq || "=";
  if (obj === null || typeof obj !== "object") return "";
  const parts = [];
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (Array.isArray(v)) for (const x of v) parts.push(escape(k) + eq + escape(value(x)));
    else parts.push(escape(k) + eq + escape(value(v)));
  }
  return parts.join(sep);
}
module.exports = { parse, stringify, escape, unescape, decode: parse, encode: stringify };
