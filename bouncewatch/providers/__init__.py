"""Events from sending services: verify a request, then read it into reports; no database, no Flask.

One module per service, each with a `verify...` function (signature, timestamp, credentials:
pure but for the clock and, for SES, the signing certificate) and a `reports(...)` function
(the request body → ProviderReports); `events.py` holds the report type and turns a report into
the same verdicts a parsed bounce gets; `generic.py` reads the body of `POST /v1/events`.
Recording (once per event id, in one transaction with the ledger) is service/ingest.py's job;
the routes are web/hooks.py's. `cryptography` is imported here only.
"""
