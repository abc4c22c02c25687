"""The storage-agnostic host: Paperclip's plugin host services on top of ``db``.

``core`` imports ``db`` and nothing else of ours; it never checks which backend it runs on.
Every function that touches storage takes it first: the ``Database`` when it opens its own
transaction, the caller's ``UnitOfWork`` (``core.unit_of_work``) when it is one step of one.
"""
