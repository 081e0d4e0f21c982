/* url.js — require("url"): URL and URLSearchParams (WHATWG, for http(s) and similar URLs) and
 * the legacy url.parse / url.format.
 * Owns: splitting a URL into its parts and back; percent-encoding of query pairs. Plain JavaScript.
 * Must not: resolve names or touch the network; it only reads strings.
 */
"use strict";
const querystring = require("querystring");
const DEFAULT_PORTS = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21" };
const PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@\/?#]*)(?::([^@\/?#]*))?@)?(\[[^\]]*\]|[^:\/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;

class URLSearchParams {
  constructor(init) {
    this._pairs = [];
    if (typeof init === "string") {
      const text = init[0] === "?" ? init.slice(1) : init;
      for (const part of text.split("&")) {
        if (!part) continue;
        const i = part.indexOf("=");
        this._pairs.push([querystring.unescape(i >= 0 ? part.slice(0, i) : part), i >= 0 ? querystring.unescape(part.slice(i + 1)) : ""]);
      }
    } else if (Array.isArray(init)) for (const [k, v] of init) this._pairs.push([String(k), String(v)]);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this._pairs.push([k, String(init[k])]);
    this._url = null;
  }
  _update() { if (this._url) { const s = this.toString(); this._url._search = s ? "?" + s : ""; } }
  append(k, v) { this._pairs.push([String(k), String(v)]); this._update(); }
  delete(k) { this._pairs = this._pairs.filter((p) => p[0] !== String(k)); this._update(); }
  get(k) { const p = this._pairs.find((x) => x[0] === String(k)); return p ? p[1] : null; }
  getAll(k) { return this._pairs.filter((x) => x[0] === String(k)).map((x) => x[1]); }
  has(k) { return this._pairs.some((x) => x[0] === String(k)); }
  set(k, v) {
    k = String(k); const i = this._pairs.findIndex((x) => x[0] === k);
    if (i < 0) this._pairs.push([k, String(v)]);
    else { this._pairs[i][1] = String(v); this._pairs = this._pairs.filter((x, j) => j <= i || x[0] !== k); }
    this._update();
  }
  sort() { this._pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
  forEach(f, self) { for (const [k, v] of this._pairs) f.call(self, v, k, this); }
  keys() { return this._pairs.map((p) => p[0])[Symbol.iterator](); }
  values() { return this._pairs.map((p) => p[1])[Symbol.iterator](); }
  entries() { return this._pairs.map((p) => [p[0], p[1]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  get size() { return this._pairs.length; }
  toString() { return this._pairs.map(([k, v]) => form(k) + "=" + form(v)).join("&"); }
}
function form(s) { return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()); }

function dotSegments(path) {
  const out = [];
  for (const seg of path.split("/").slice(1)) {
    if (seg === "..") out.pop(); else if (seg !== ".") out.push(seg);
  }
  const last = path.split("/").pop();
  return "/" + out.join("/") + (last === "." || last === ".." ? "/" : "");
}

class URL {
  constructor(input, base) {
    input = String(input).trim();
    let m = PATTERN.exec(input);
    if (!m && base !== undefined) {
      const b = base instanceof URL ? base : new URL(base);
      if (input.startsWith("//")) m = PATTERN.exec(b.protocol + input);
      else if (input.startsWith("/")) m = PATTERN.exec(b.origin + input);
      else if (input.startsWith("?")) m = PATTERN.exec(b.origin + b.pathname + input);
      else if (input.startsWith("#")) m = PATTERN.exec(b.origin + b.pathname + b.search + input);
      else m = PATTERN.exec(b.origin + b.pathname.replace(/[^\/]*$/, "") + input);
    }
    if (!m || (m[1] && /^(https?|wss?|ftp):$/i.test(m[1]) && !m[4])) throw new TypeError("Invalid URL: " + input.slice(0, 100));
    this._protocol = m[1].toLowerCase();
    this._username = m[2] || ""; this._password = m[3] || "";
    this._hostname = (m[4] || "").toLowerCase();
    this._port = m[5] && m[5] !== DEFAULT_PORTS[this._protocol] ? m[5] : "";
    const special = this._protocol in DEFAULT_PORTS;
    let path = m[6] || "";
    if (special) path = dotSegments(path || "/");
    this._pathname = path.replace(/ /g, "%20");
    this._search = m[7] && m[7].length > 1 ? m[7] : "";
    this._hash = m[8] && m[8].length > 1 ? m[8] : "";
    this._params = new URLSearchParams(this._search);
    this._params._url = this;
  }
  get protocol() { return this._protocol; }
  get username() { return this._username; }
  get password() { return this._password; }
  get hostname() { return this._hostname; }
  get port() { return this._port; }
  set port(v) { this._port = String(v); }
  get host() { return this._hostname + (this._port ? ":" + this._port : ""); }
  get origin() { return this._protocol + "//" + this.host; }
  get pathname() { return this._pathname; }
  set pathname(v) { this._pathname = String(v).startsWith("/") ? String(v) : "/" + v; }
  get search() { return this._search; }
  set search(v) { v = String(v); this._search = v && v !== "?" ? (v[0] === "?" ? v : "?" + v) : ""; const p = new URLSearchParams(this._search); this._params._pairs = p._pairs; }
  get searchParams() { return this._params; }
  get hash() { return this._hash; }
  set hash(v) { v = String(v); this._hash = v && v !== "#" ? (v[0] === "#" ? v : "#" + v) : ""; }
  get href() {
    const auth = this._username ? this._username + (this._password ? ":" + this._password : "") + "@" : "";
    return this._protocol + (this._hostname || this._protocol in DEFAULT_PORTS ? "//" + auth + this.host : "") + this._pathname + this._search + this._hash;
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
}

function parse(text, parseQuery) {
  text = String(text);
  const m = PATTERN.exec(text);
  const out = { protocol: null, slashes: null, auth: null, host: null, port: null, hostname: null, hash: null, search: null, query: null, pathname: null, path: null, href: text };
  let rest = text;
  if (m) {
    out.protocol = m[1].toLowerCase();
    out.slashes = text.slice(m[1].length, m[1].length + 2) === "//" || null;
    if (m[2] !== undefined) out.auth = m[2] + (m[3] !== undefined ? ":" + m[3] : "");
    out.hostname = m[4] !== undefined ? m[4].toLowerCase() : null;
    out.port = m[5] || null;
    out.host = out.hostname !== null ? out.hostname + (out.port ? ":" + out.port : "") : null;
    rest = (m[6] || "") + (m[7] || "") + (m[8] || "");
  }
  const h = rest.indexOf("#");
  if (h >= 0) { out.hash = rest.slice(h); rest = rest.slice(0, h); }
  const q = rest.indexOf("?");
  if (q >= 0) { out.search = rest.slice(q); out.query = rest.slice(q + 1); rest = rest.slice(0, q); }
  else if (parseQuery) { out.search = ""; out.query = {}; }
  if (parseQuery && typeof out.query === "string") out.query = querystring.parse(out.query);
  out.pathname = rest || (out.slashes ? "/" : null);
  out.path = (out.pathname || "") + (out.search || "") || null;
  return out;
}
function format(u) {
  if (u instanceof URL) return u.href;
  if (typeof u === "string") return u;
  const search = u.search || (u.query && typeof u.query === "object" ? "?" + querystring.stringify(u.query) : u.query ? "?" + u.query : "");
  const host = u.host || (u.hostname ? u.hostname + (u.port ? ":" + u.port : "") : "");
  return (u.protocol || "") + (u.slashes || host ? "//" : "") + (u.auth ? u.auth + "@" : "") + host + (u.pathname || "") + (search === "?" ? "" : search) + (u.hash || "");
}
module.exports = { URL, URLSearchParams, parse, format };
