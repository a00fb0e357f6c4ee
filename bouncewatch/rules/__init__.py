"""The rules, pure: values in, values out; no database, network, files or clock.

- `classify.py`: a parsed record → hard / soft / ignore / complaint, through the policy;
- `ledger.py`: (address state, verdict, time) → the new state: blocks, soft counts, resets;
- `addresses.py`: address normalisation (case, IDNA, quoted local parts) and the domain;
- `alerts.py`: when a domain's sender-side rejections become an alert.
"""
