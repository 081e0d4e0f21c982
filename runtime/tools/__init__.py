"""Commands that work on an export as files: ``migrate`` and ``diff``.
Must not be imported by the server or a worker.
"""
