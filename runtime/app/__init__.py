"""The export tree on disk -> a frozen model -> one immutable snapshot (config, compiled functions
per engine, call specs, rules). Every problem is reported with its file and JSON path or line.
Must not run user code.
"""
