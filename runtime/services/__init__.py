"""Server-side services that guest calls reach (data, HTTP): run in the server process, on its
event loop. Nothing here trusts what a worker sends; nothing here runs guest code."""
