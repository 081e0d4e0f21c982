# A drop-in: no config names this file, so it is served as webhook `ping` of service `http`,
# any method, NO_VALIDATION, respond_result.
#   curl http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/http/incoming_webhook/ping


def exports(payload, response):
    return {"pong": True, "id": BSON.ObjectId()}
