/* buffer.js — require("buffer"): Node's Buffer, the parts App Services code uses.
 *
 * Owns: Buffer (a Uint8Array) with from/alloc/concat/isBuffer/byteLength and toString in utf8,
 * hex, base64, latin1/binary and ascii; UTF-8 encoding as JavaScript's encoders do it (a lone
 * surrogate becomes U+FFFD). Plain JavaScript: asks the host for nothing.
 * Must not: reach anything but its own arguments (it is evaluated per call, in the call's context).
 */
"use strict";
const HEX = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function utf8Encode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
      else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}
function utf8Decode(bytes, start, end) {
  let s = "", i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) { s += String.fromCharCode(b); i++; continue; }
    const need = b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : 0;
    let c = b & (0x3f >> need), ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      if (i + k >= end || (bytes[i + k] & 0xc0) !== 0x80) ok = false;
      else c = (c << 6) | (bytes[i + k] & 63);
    }
    if (!ok || (need === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (need === 3 && (c < 0x10000 || c > 0x10ffff))) { s += "\ufffd"; i++; continue; }
    s += c >= 0x10000 ? String.fromCharCode(0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 1023)) : String.fromCharCode(c);
    i += need + 1;
  }
  return s;
}
function fromBase64(s) {
  s = String(s).replace(/[\s=]/g, "").replace(/-/g, "+").replace(/_/g, "/");
  const out = [];
  let bits = 0, value = 0;
  for (const ch of s) {
    const v = B64.indexOf(ch);
    if (v < 0) break;
    value = (value << 6) | v; bits += 6;
    if (bits >= 8) { bits -= 8; out.push((value >> bits) & 255); }
  }
  return out;
}
function toBase64(bytes, start, end) {
  let s = "";
  for (let i = start; i < end; i += 3) {
    const a = bytes[i], b = i + 1 < end ? bytes[i + 1] : 0, c = i + 2 < end ? bytes[i + 2] : 0;
    s += B64[a >> 2] + B64[((a & 3) << 4) | (b >> 4)] + (i + 1 < end ? B64[((b & 15) << 2) | (c >> 6)] : "=") + (i + 2 < end ? B64[c & 63] : "=");
  }
  return s;
}
function encodingOf(e) {
  const enc = e === undefined ? "utf8" : String(e).toLowerCase();
  if (enc === "utf-8") return "utf8";
  if (["utf8", "hex", "base64", "base64url", "latin1", "binary", "ascii"].indexOf(enc) < 0) throw new TypeError("Unknown encoding: " + e);
  return enc;
}

class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === "string") {
      const enc = encodingOf(encodingOrOffset);
      let bytes;
      if (enc === "utf8") bytes = utf8Encode(value);
      else if (enc === "hex") { bytes = []; for (let i = 0; i + 1 < value.length; i += 2) { const b = parseInt(value.substr(i, 2), 16); if (b !== b) break; bytes.push(b); } }
      else if (enc === "base64" || enc === "base64url") bytes = fromBase64(value);
      else { bytes = []; for (let i = 0; i < value.length; i++) bytes.push(value.charCodeAt(i) & (enc === "ascii" ? 127 : 255)); }
      return Buffer.of(...bytes);
    }
    if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset || 0, length === undefined ? value.byteLength - (encodingOrOffset || 0) : length);
    if (value instanceof BSON.Binary) return Buffer.from(value.toBase64(), "base64");
    if (value instanceof Uint8Array || Array.isArray(value)) { const b = new Buffer(value.length); for (let i = 0; i < value.length; i++) b[i] = value[i]; return b; }
    if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data);
    throw new TypeError("Buffer.from: the first argument must be a string, an array, a Buffer or an ArrayBuffer");
  }
  static of(...bytes) { const b = new Buffer(bytes.length); for (let i = 0; i < bytes.length; i++) b[i] = bytes[i]; return b; }
  static alloc(size, fill, encoding) {
    if (typeof size !== "number" || size < 0 || size > 64 * 1024 * 1024) throw new RangeError("Buffer.alloc: the size must be a number from 0 to 64 MB");
    const b = new Buffer(size);
    if (fill !== undefined) {
      const pattern = typeof fill === "number" ? [fill & 255] : Buffer.from(fill, encoding);
      if (pattern.length) for (let i = 0; i < size; i++) b[i] = pattern[i % pattern.length];
    }
    return b;
  }
  static allocUnsafe(size) { return Buffer.alloc(size); }
  static isBuffer(b) { return b instanceof Buffer; }
  static isEncoding(e) { try { encodingOf(e); return true; } catch (err) { return false; } }
  static byteLength(s, enc) { return typeof s === "string" ? Buffer.from(s, enc).length : s.byteLength; }
  static concat(list, total) {
    if (!Array.isArray(list)) throw new TypeError("Buffer.concat: the list must be an array of Buffers");
    const length = total === undefined ? list.reduce((n, b) => n + b.length, 0) : total;
    const out = Buffer.alloc(length);
    let at = 0;
    for (const b of list) { for (let i = 0; i < b.length && at < length; i++) out[at++] = b[i]; }
    return out;
  }
  static compare(a, b) { return a.compare(b); }
  toString(encoding, start, end) {
    const enc = encodingOf(encoding);
    start = start === undefined ? 0 : Math.max(0, start | 0);
    end = end === undefined ? this.length : Math.min(this.length, end | 0);
    if (enc === "utf8") return utf8Decode(this, start, end);
    if (enc === "hex") { let s = ""; for (let i = start; i < end; i++) s += HEX[this[i] >> 4] + HEX[this[i] & 15]; return s; }
    if (enc === "base64") return toBase64(this, start, end);
    if (enc === "base64url") return toBase64(this, start, end).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    let s = ""; for (let i = start; i < end; i++) s += String.fromCharCode(this[i] & (enc === "ascii" ? 127 : 255)); return s;
  }
  toJSON() { return { type: "Buffer", data: Array.from(this) }; }
  equals(other) { if (!(other instanceof Uint8Array) || other.length !== this.length) return false; for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false; return true; }
  compare(other) { const n = Math.min(this.length, other.length); for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1; return this.length === other.length ? 0 : this.length < other.length ? -1 : 1; }
  slice(start, end) { return this.subarray(start, end); }
  subarray(start, end) { const v = Uint8Array.prototype.subarray.call(this, start, end); return new Buffer(v.buffer, v.byteOffset, v.length); }
  write(string, offset, encoding) { const b = Buffer.from(string, encoding); offset = offset | 0; let n = 0; for (; n < b.length && offset + n < this.length; n++) this[offset + n] = b[n]; return n; }
  readUInt8(o) { return this[o | 0]; }
  readUInt32BE(o) { o = o | 0; return ((this[o] << 24) >>> 0) + (this[o + 1] << 16) + (this[o + 2] << 8) + this[o + 3]; }
  writeUInt32BE(v, o) { o = o | 0; this[o] = v >>> 24; this[o + 1] = v >>> 16; this[o + 2] = v >>> 8; this[o + 3] = v; return o + 4; }
}
Object.defineProperty(Buffer, Symbol.species, { value: Uint8Array });

module.exports = { Buffer, constants: { MAX_LENGTH: 64 * 1024 * 1024 }, kMaxLength: 64 * 1024 * 1024 };
