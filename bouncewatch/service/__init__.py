"""The running service: a cycle over a mailbox, the worker per mailbox, the daemon around them.

- `pipeline.py`: one cycle: fetch → analyse → ledger → store → move → publish (`run_cycle`);
- `analysis.py`: parse and classify a batch, in worker processes when that pays;
- `alerts.py`, `manual.py`: sender-side alerts kept in the store; manual block and unblock;
- `worker.py`: one mailbox's steps, backoff and health; `backoff.py`: retry delays;
- `daemon.py`: the only APScheduler user: a job per mailbox, signals, reload, the endpoint's life;
- `observers.py`: what a worker tells an observer (metrics); `sdnotify.py`: systemd's notify socket.

This room never imports the web room: the daemon is handed a factory for its HTTP endpoint.
"""
