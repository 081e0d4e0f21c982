# Webhook `signed`: POST, VERIFY_PAYLOAD with the secret 12345.
# The caller signs the raw body: X-Hook-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
#   atlas-fn sign --secret 12345 --body '{"message":"MESSAGE"}' --curl \
#     http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/signed


def exports(payload, response):
    body = EJSON.parse(payload.body.text())
    response.setStatusCode(201)
    response.setHeader("Content-Type", "application/json")
    response.setBody(EJSON.stringify({"received": body["message"], "length": len(payload.body)}))
