"""The reviewer's TUI (``sandbox tui``): live plugin activity, wakeups and runs, costs, plugins.

A Textual app over the core read models and the change feed; it never writes to the database.
Layout: ``app`` routes between the screens of ``screens/``, built from the widgets of
``widgets/``; ``messages`` are what they post; the plain modules (``filters``, ``row_buffer``,
``bindings``, ``keymap``, ``formatting``, ``live``) hold the logic that needs no terminal.
Importing this package loads nothing heavy: Textual loads with ``tui.app``.
"""
