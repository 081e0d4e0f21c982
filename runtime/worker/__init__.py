"""The child side of the process wall: the only place user code runs.
Must not import asyncio, aiohttp or anything of ``runtime.http`` / ``runtime.host``.
"""
