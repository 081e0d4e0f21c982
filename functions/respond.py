# Webhook `respond`: every method of the response object, chained.
# Setters override respond_result: the body is exactly what setBody was given.
#   curl -i http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/respond


def exports(payload, response):
    digest = utils.crypto.hmac("hello!", "super-secret", "sha256", "base64")
    (response.setStatusCode(202)
        .setHeader("Content-Type", "text/plain; charset=utf-8")
        .addHeader("X-Digest", digest)
        .addHeader("X-Digest", "second value")
        .setBody("accepted\n"))
