"""The parent side of the process wall: the worker pool, its pure dispatch policy, the watchdog.
Only this package owns processes. Must not build HTTP answers.
"""
