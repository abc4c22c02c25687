"""Read models: what viewers (the TUI, ``sandbox show``, ``activity export``) show, read-only.

One module per view: ``activity``, ``runs`` (the wakeup queue and heartbeat runs), ``costs``
(roll-ups and budget incidents), ``plugins`` (overview and log tail), ``capabilities``
(declared against used), ``issues`` (a company's issue tree, one issue with what hangs on it)
and ``plugin_tables`` (a plugin's own tables). Lists are keyset-paginated newest first
(``pages``). Each function opens its own read session; nothing here writes.
"""
