"""The long-running host, ``sandbox serve``: one process keeps plugins running and serves them.

- ``command``: the ``sandbox serve`` command; ``host_process``: what it runs, and in which order
  it starts and stops;
- ``http/``: the HTTP API (scoped plugin routes, bridges, health, OpenAPI);
- ``job_scheduler``: plugins' scheduled jobs; ``hot_reload``: the plugin watcher;
- ``agent_simulator`` and ``agent_profiles``: simulated agents that turn queued runs into
  finished runs and costs; ``liveness``: the beat of a host and the recovery of dead hosts' runs;
- ``client``: how other ``sandbox`` commands reach a running host.
"""
