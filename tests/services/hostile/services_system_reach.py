# expect: ok ["InvalidParameter", "InvalidParameter", "InvalidParameter", true, "MongoDBError", "MongoDBError", "MongoDBError", null, null, 1]
# attack: reach past the app's data through the MongoDB service: the admin, local (the oplog)
# and config databases, server-side JavaScript ($where, $function), an update operator the
# server does not know inside findOneAndUpdate with upsert, and reading a cursor past its end.
# must: system databases refused by name before anything is sent (and never listed by
# getDBNames); server-side code and unknown operators refused by the server as MongoDBError;
# an exhausted cursor gives None, again and again.


def exports(payload, response):
    found = []
    mongodb = context.services.get("mongodb-atlas")
    for name in ["admin", "local", "config"]:
        try:
            mongodb.db(name).collection("anything").findOne({})
            found.append("reached " + name)
        except Exception as error:
            found.append(str(error).split(":")[0])
    names = mongodb.admin().getDBNames()
    found.append(not ("admin" in names or "local" in names or "config" in names))
    coll = mongodb.db("hostile").collection("reach")
    coll.deleteMany({})
    coll.insertOne({"_id": 1})
    for call in [
        lambda: coll.deleteOne({"$where": "sleep(100000) || true"}),
        lambda: coll.find({"$expr": {"$function": {"body": "function() { return true }", "args": [], "lang": "js"}}}).next(),
        lambda: coll.findOneAndUpdate({"_id": 2}, {"$who": {"a": 1}}, {"upsert": True}),
    ]:
        try:
            call()
            found.append("accepted")
        except Exception as error:
            found.append(str(error).split(":")[0])
    cursor = coll.find({"_id": 1})
    cursor.next()
    found.append(cursor.next())
    found.append(cursor.next())
    found.append(coll.count({}))
    return found
