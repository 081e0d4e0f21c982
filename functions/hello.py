# Webhook `hello`: any method, NO_VALIDATION, respond_result.
# The return value becomes the body, as canonical Extended JSON.
#   curl 'http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/hello?name=Ada'


def exports(payload, response):
    name = payload.query.get("name", "world")
    console.log("hello from", context.request.remoteIPAddress)
    return {
        "greeting": context.values.get("greeting") + ", " + name + "!",
        "method": context.request.httpMethod,
        "answer": 42,
    }
