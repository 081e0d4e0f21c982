"""The values every engine shares: BSON types, Extended JSON, crypto primitives.
Must not do I/O or import anything of ``runtime`` but ``errors``.
"""
