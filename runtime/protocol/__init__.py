"""What crosses the process wall: frames and typed messages between the server and a worker.
Must not know either side (no asyncio, no processes, no engines).
"""
