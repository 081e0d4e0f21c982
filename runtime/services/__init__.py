"""Server-side services that guest calls reach (data, HTTP): run in the server process, on its
event loop. Must not trust what a worker sends, or run guest code."""
