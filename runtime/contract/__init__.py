"""App Services rules over plain values, used by the server and the workers alike: routing,
call specs, validation, can_evaluate, the payload and ``context.request``, the response table.
Must not import aiohttp, start processes or read files.
"""
