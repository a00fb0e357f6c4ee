"""The HTTP side: the only room that imports Flask, waitress and prometheus_client.

- `api.py`: the app: /healthz, /metrics and the read-only /v1 routes;
- `server.py`: waitress serving that app on a thread of the daemon;
- `health.py`: is each mailbox healthy (a pure judgement for /healthz);
- `metrics.py`: Prometheus metrics, fed as the workers' observer;
- `console/`: the review console (sign-in, search, timeline, block and unblock).
"""
