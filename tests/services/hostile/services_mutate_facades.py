# expect: ok ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]
# attack: replace the methods of the service facades (so later code in the call, or a later
# call if the objects were shared, sends its data elsewhere or trusts forged answers):
# services.get, a client's db and admin, a database's collection and getCollectionNames, a
# collection's insertOne, a cursor's toArray, context.http's post.
# must: every write refused with TypeError; the facades are built fresh for each call anyway.


def exports(payload, response):
    found = []
    mongodb = context.services.get("mongodb-atlas")
    db = mongodb.db("hostile")
    coll = db.collection("mutate")
    targets = [(context.services, "get"), (mongodb, "db"), (mongodb, "admin"), (db, "collection"),
               (db, "getCollectionNames"), (coll, "insertOne"), (coll.find({}), "toArray"), (context.http, "post")]
    for obj, name in targets:
        try:
            setattr(obj, name, lambda *args: None)
            found.append("replaced " + name)
        except TypeError:
            found.append("TypeError")
    return found
