# Webhook `secret_query`: GET, SECRET_AS_QUERY_PARAM.
# The `secret` pair never reaches the function: not in payload.query, not in rawQueryString.
#   curl 'http://127.0.0.1:8080/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/secret_query?secret=Super5ecr3tPa55w0rd&page=2'


def exports(payload, response):
    return {"query": payload.query, "rawQueryString": context.request.rawQueryString}
