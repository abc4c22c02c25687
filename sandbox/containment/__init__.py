"""OS-level containment of plugin workers (Linux): namespaces, Landlock and resource limits.

- ``policy``: what a contained worker may read and write, and its limits (``SANDBOX_WORKER_*``);
- ``kernel``: which of the kernel's mechanisms this machine offers;
- ``landlock``: the Landlock system calls, through ``ctypes``;
- ``jail``: the prelude that confines a worker and then runs it (``python -m
  sandbox.containment.jail``), standard library only so that it starts fast;
- ``launcher``: the ``WorkerLauncher`` that starts a worker through the prelude;
- ``isolation``: how a plugin's worker runs (contained, trusted, off, unsupported).

The prelude is imported by a bare interpreter, so this package imports nothing itself.
"""
