# expect: ok ["AttributeError", "AttributeError", "AttributeError", "AttributeError", "AttributeError", "AttributeError", "AttributeError", "AttributeError", "[object Services]", "[object Cursor]"]
# attack: walk from the service facades to the Host they call (which, in a worker, owns the
# socket pair to the server) or to their module: underscore slots read with getattr and a name
# computed at run time, the bound method's self, a third-party service's catch-all attribute
# lookup asked for a private name, an HTTP facade's slots.
# must: every step refused; the facades show only their repr.


def exports(payload, response):
    found = []
    mongodb = context.services.get("mongodb-atlas")
    coll = mongodb.db("hostile").collection("walk")
    cursor = coll.find({})
    under = "_"
    for obj, name in [(context.services, under + "host"), (mongodb, under + "host"), (coll, under + "service"),
                      (cursor, under + "collection"), (coll.insertOne, under * 2 + "self" + under * 2),
                      (context.services.get("gh"), under + "host"), (context.http, under + "host"),
                      (mongodb.admin(), under + "host")]:
        try:
            getattr(obj, name)
            found.append("reached " + name)
        except AttributeError:
            found.append("AttributeError")
    found.append(repr(context.services))
    found.append(repr(cursor))
    return found
