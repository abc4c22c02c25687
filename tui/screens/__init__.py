"""The TUI's screens: the four views, and the dialogs they open."""
