"""The aiohttp front: the only package that speaks aiohttp.
Must not hold decisions that belong in ``runtime.contract``.
"""
