"""The storage-agnostic host: Paperclip's plugin host services on top of ``db``.

``core`` imports ``db`` and nothing else of ours; it never checks which backend it runs on.
"""
