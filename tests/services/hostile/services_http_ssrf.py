# expect: ok ["HTTPError", "HTTPError", "HTTPError", "HTTPError", "HTTPError", "HTTPError", "HTTPError", "HTTPError", "HTTPError", "InvalidParameter", "InvalidParameter", "ServiceActionNotSupported"]
# attack: reach the cloud metadata service and loopback through context.http with every method
# and the address spellings that fool name checks: a decimal and a short dotted IPv4, an
# IPv4-mapped IPv6 metadata address, "localhost." with its trailing dot, a private address by
# URL components, a header that tries to smuggle a second header, a file:// URL, digest auth.
# must: each refused with HTTPError (the resolved address is checked) or InvalidParameter;
# nothing is sent.


def exports(payload, response):
    found = []
    http = context.http
    for call in [
        lambda: http.get({"url": "http://169.254.169.254/latest/meta-data/"}),
        lambda: http.post({"url": "http://2130706433/", "body": "x"}),
        lambda: http.put({"url": "http://127.1/", "body": "x"}),
        lambda: http.patch({"url": "http://[::ffff:a9fe:a9fe]/", "body": "x"}),
        lambda: http.delete({"url": "http://localhost./"}),
        lambda: http.head({"url": "http://LOCALHOST/"}),
        lambda: http.get({"scheme": "http", "host": "10.0.0.1", "path": "/admin"}),
        lambda: http.get({"url": "http://[fd00:ec2::254]/"}),
        lambda: context.services.get("legacyHttp").get({"url": "http://0.0.0.0/"}),
        lambda: http.get({"url": "http://example.com/", "headers": {"X": ["a\r\nHost: 127.0.0.1"]}}),
        lambda: http.get({"url": "file:///etc/passwd"}),
        lambda: http.get({"url": "http://example.com/", "digestAuth": True}),
    ]:
        try:
            call()
            found.append("sent")
        except Exception as error:
            found.append(str(error).split(":")[0])
    return found
