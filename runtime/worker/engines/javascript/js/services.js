/* services.js — context.services and context.http: Promise-returning faces over the host.
 *
 * Owns: the JavaScript shape of the MongoDB client (db, collection, admin, the collection
 * methods and cursors), of context.http and legacy HTTP services, and of third-party services,
 * built from GUEST_API (runtime/contract/service_api.py, the table the Python facade is built
 * from too). Every request is one synchronous host operation ("service.*"); its answer or its
 * refusal becomes a settled Promise, as App Services' methods returned Promises (§8.6). Part of
 * the prelude (sees `call`, `callValue` and the captured intrinsics).
 * Must not: check argument values (the server does; names and cursor rules are the host's, via
 * the same functions the Python facade calls), keep anything between calls, or hand guest code
 * `call` or the host.
 */
const PromiseRejectF = Promise.reject, PromiseResolveF = Promise.resolve, ProxyCtor = Proxy;

function settledWith(op, args) {
  try { return ReflectApply(PromiseResolveF, PromiseCtor, [callValue(op, args)]); }
  catch (e) { return ReflectApply(PromiseRejectF, PromiseCtor, [e]); }
}
function method(name, f) { return { [name](...args) { return ReflectApply(f, this, args); } }[name]; }
function frozen(object, tag) {
  ObjectDefineProperty(object, SymbolCtor.toStringTag, { value: tag });
  return ObjectFreeze(object);
}

function makeCursor(service, operation, database, collection, given, options) {
  let documents, position = 0;
  function rest() {
    if (documents === undefined) {
      const found = callValue("service.mongodb", [service, operation, database, collection, given, options]);
      documents = ArrayIsArray(found) ? found : [];
    }
    const out = documents.slice(position);
    position = documents.length;
    return out;
  }
  const cursor = {};
  for (const name of GUEST_API.modifiers) {
    cursor[name] = method(name, function (value) {
      callValue("service.cursor", [operation, name, documents !== undefined]);
      given[name] = value;
      return cursor;
    });
  }
  cursor.toArray = method("toArray", () => { try { return ReflectApply(PromiseResolveF, PromiseCtor, [rest()]); } catch (e) { return ReflectApply(PromiseRejectF, PromiseCtor, [e]); } });
  cursor.next = method("next", () => {
    try {
      if (documents === undefined) { rest(); position = 0; }
      const doc = position < documents.length ? documents[position++] : undefined;
      return ReflectApply(PromiseResolveF, PromiseCtor, [doc]);
    } catch (e) { return ReflectApply(PromiseRejectF, PromiseCtor, [e]); }
  });
  ObjectDefineProperty(cursor, CURSOR, { value: true });
  ObjectDefineProperty(cursor, CURSOR_REST, { value: rest });
  return frozen(cursor, "Cursor");
}

function makeCollection(service, database, name) {
  const collection = {};
  for (const operation of ObjectKeys(GUEST_API.collection)) {
    const parameters = GUEST_API.collection[operation];
    collection[operation] = method(operation, function (...args) {
      const given = {};
      for (let i = 0; i < parameters.length; i++) if (args[i] !== undefined) given[parameters[i]] = args[i];
      const options = args[parameters.length];
      if (GUEST_API.cursor.includes(operation)) return makeCursor(service, operation, database, name, given, options);
      return settledWith("service.mongodb", [service, operation, database, name, given, options]);
    });
  }
  return frozen(collection, "Collection");
}

function makeDatabase(service, name) {
  return frozen({
    collection: method("collection", (collection) => {
      callValue("service.name", ["collection", collection]);
      return makeCollection(service, name, collection);
    }),
    getCollectionNames: method("getCollectionNames", () => settledWith("service.call", [service, "getCollectionNames", { database: name }])),
  }, "Database");
}

function makeMongoClient(service) {
  return frozen({
    db: method("db", (name) => { callValue("service.name", ["db", name]); return makeDatabase(service, name); }),
    admin: method("admin", () => frozen({
      getDBNames: method("getDBNames", () => settledWith("service.call", [service, "getDBNames", {}])),
    }, "Admin")),
  }, "MongoDBService");
}

function makeHttp(service) {
  const http = {};
  for (const name of GUEST_API.http) http[name] = method(name, (request) => settledWith("service.http", [service, name, request]));
  return frozen(http, "HTTP");
}

/* A third-party service: any action is a request, which the server refuses by name. `then` is not
 * an action, so the service is not mistaken for a Promise when a function returns it. */
function makeOther(service) {
  return new ProxyCtor(frozen({}, "Service"), {
    get(target, key) {
      if (typeof key !== "string" || key === "then" || key === "toJSON") return undefined;
      return method(key, (...args) => settledWith("service.call", [service, key, { args }]));
    },
  });
}

function makeServices() {
  const made = new Map();
  return frozen({
    get: method("get", (name) => {
      const kind = callValue("service.get", [name]);
      if (kind === undefined) return undefined;
      if (!made.has(name)) made.set(name, kind === "mongodb" ? makeMongoClient(name) : kind === "http" ? makeHttp(name) : makeOther(name));
      return made.get(name);
    }),
  }, "Services");
}
