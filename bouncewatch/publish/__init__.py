"""What others read: the blocklist and its outputs, and the return paths we sign.

- `files.py`: the blocklist file rendered and written atomically, with the shrink guard;
- `outputs.py`: every `[[outputs]]` format (text, csv, json, Postfix access map), streamed from the store;
- `verp_sign.py`: signed VERP return paths: making them and checking a bounce's.
"""
