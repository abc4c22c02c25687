"""Read models: what live viewers (the TUI, ``sandbox activity export``) show, read-only.

One module per view: ``activity``, ``runs`` (the wakeup queue and heartbeat runs), ``costs``
(roll-ups and budget incidents), ``plugins`` (overview and log tail) and ``capabilities``
(declared against used). Lists are keyset-paginated newest first (``pages``). Each function
opens its own read session; nothing here writes.
"""
