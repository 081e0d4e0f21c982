/* crypto.js — require("crypto"): createHash, createHmac, randomBytes, timingSafeEqual, randomUUID.
 *
 * Owns: Node's streaming Hash/Hmac objects over our Buffer. The digests and the randomness come
 * from the host (hashlib, hmac, os.urandom) through the "node." operations only.
 * Must not: offer ciphers, keys or signing (App Services code uses utils.crypto for those).
 */
"use strict";
const { Buffer } = require("buffer");

function toBuffer(data, encoding, what) {
  if (typeof data === "string") return Buffer.from(data, encoding);
  if (data instanceof Uint8Array) return Buffer.from(data);
  if (data instanceof BSON.Binary) return Buffer.from(data);
  throw new TypeError("crypto: " + what + " must be a string, a Buffer or a Uint8Array");
}
function binary(buffer) { return new BSON.Binary(buffer); }
function output(binaryValue, encoding) {
  const b = Buffer.from(binaryValue.toBase64(), "base64");
  return encoding === undefined || encoding === "buffer" ? b : b.toString(encoding);
}

class Digest {
  constructor(kind, algorithm, key) { this._kind = kind; this._algorithm = String(algorithm); this._key = key; this._parts = []; this._done = false; }
  update(data, encoding) {
    if (this._done) throw new Error("crypto: digest already called");
    this._parts.push(toBuffer(data, encoding, "the data"));
    return this;
  }
  digest(encoding) {
    if (this._done) throw new Error("crypto: digest already called");
    this._done = true;
    const data = binary(Buffer.concat(this._parts));
    const result = this._kind === "hash" ? hostCall("node.digest", [this._algorithm, data]) : hostCall("node.hmac", [this._algorithm, binary(this._key), data]);
    return output(result, encoding);
  }
}

module.exports = {
  createHash(algorithm) { hostCall("node.digest", [String(algorithm), binary(Buffer.alloc(0))]); return new Digest("hash", algorithm); },
  createHmac(algorithm, key) { const k = toBuffer(key, undefined, "the key"); hostCall("node.hmac", [String(algorithm), binary(k), binary(Buffer.alloc(0))]); return new Digest("hmac", algorithm, k); },
  randomBytes(size, callback) {
    const b = output(hostCall("node.randomBytes", [size]));
    if (typeof callback === "function") { Promise.resolve().then(() => callback(null, b)); return undefined; }
    return b;
  },
  randomUUID() { return hostCall("node.randomUUID", []); },
  timingSafeEqual(a, b) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) throw new TypeError("crypto.timingSafeEqual: both arguments must be Buffers");
    if (a.length !== b.length) throw new RangeError("crypto.timingSafeEqual: input buffers must have the same byte length");
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  },
  getHashes() { return ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]; },
};
