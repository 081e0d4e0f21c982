# expect: ok ["TypeError", "TypeError", "TypeError", "TypeError", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "InvalidParameter", "ServiceActionNotSupported", 2, 1, 1]
# attack: hand every collection method host objects, functions and cycles as arguments (to
# make the serialiser or the server run guest-controlled code), names MongoDB forbids (the
# system. namespace, $ and . in names), options the server must refuse (an unknown option, a
# string limit, a negative skip, a session), an empty bulkWrite, a replacement with operators,
# and a document larger than the service's argument cap.
# must: host objects and cycles fail in the worker with TypeError; everything else is refused
# by the server with InvalidParameter (sessions: ServiceActionNotSupported); nothing is written
# but the three well-formed calls at the end.


def exports(payload, response):
    found = []
    coll = context.services.get("mongodb-atlas").db("hostile").collection("arguments")
    coll.deleteMany({})
    cycle = {}
    cycle["self"] = cycle
    for call in [lambda: coll.insertOne(response), lambda: coll.findOne({"a": exports}),
                 lambda: coll.updateOne({}, {"$set": cycle}), lambda: coll.find(context).toArray()]:
        try:
            call()
            found.append("sent")
        except TypeError:
            found.append("TypeError")
    for call in [
        lambda: context.services.get("mongodb-atlas").db("a.b"),
        lambda: context.services.get("mongodb-atlas").db("hostile").collection("system.users"),
        lambda: context.services.get("mongodb-atlas").db("hostile").collection("a$b"),
        lambda: coll.find({}, None, {"hint": "x"}).toArray(),
        lambda: coll.find({}).limit("1").toArray(),
        lambda: coll.find({}).skip(-1).toArray(),
        lambda: coll.insertMany([]),
        lambda: coll.bulkWrite([{"drop": {}}]),
        lambda: coll.replaceOne({}, {"$set": {"a": 1}}),
        lambda: coll.findOneAndReplace({}, {"$unset": {"a": 1}}),
        lambda: coll.findOneAndDelete({}, {"sort": {"a": 2}}),
        lambda: coll.updateMany({}, {}),
        lambda: coll.insertOne({"blob": "x" * 5000000}),
        lambda: coll.aggregate([{"$indexStats": {}}]).toArray(),
        lambda: coll.distinct(""),
        lambda: coll.countDocuments({}, {"limit": -5}),
        lambda: coll.count({}, {"session": {}}),
    ]:
        try:
            call()
            found.append("accepted")
        except Exception as error:
            found.append(str(error).split(":")[0])
    coll.insertMany([{"_id": 1}, {"_id": 2}])
    found.append(coll.countDocuments({}))
    found.append(coll.count({}, {"limit": 1}))
    found.append(len(coll.aggregate([{"$match": {"_id": 1}}]).skip(0).toArray()))
    return found
