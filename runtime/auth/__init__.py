"""Application users: the local user store, logins and tokens, and who a call runs as (issue 13).

Must not import aiohttp or the worker side: the server and ``atlas-fn users`` use it."""
