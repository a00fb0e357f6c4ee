"""The HTTP side: the only room that imports Flask, Hypercorn and prometheus_client.

- `api.py`: the app: /healthz, /metrics and the read-only /v1 routes;
- `server.py`: Hypercorn (asyncio) serving it on a thread of the daemon, with a header deadline;
- `gate.py`: what every request passes first: Host allowlist, body limits, lanes of threads;
- `bridge.py`: the WSGI app on those threads, its responses under a write deadline;
- `clients.py`: who the client is (the peer, or what a trusted proxy says);
- `health.py`: is each mailbox healthy (a pure judgement for /healthz);
- `metrics.py`: Prometheus metrics, fed as the workers' observer;
- `console/`: the review console (sign-in, search, timeline, block and unblock).
"""
