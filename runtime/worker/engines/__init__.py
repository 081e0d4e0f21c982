"""The engines that run guest code behind one interface (``runtime.worker.engines.base``).
Must not import asyncio or aiohttp.
"""
