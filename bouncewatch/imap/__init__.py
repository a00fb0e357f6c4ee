"""The mailbox over IMAP: the only room that imports imapclient.

- `mailbox.py`: one logged-in session (TLS, LOGIN or XOAUTH2, folders, UID batches, MOVE, IDLE);
- `oauth.py`: XOAUTH2 access tokens from a command, cached until they expire.

`IMAPClient` and `encode_folder_name` are handed out here for the test harness (`testing/`),
which talks to its throwaway servers through this room rather than importing imapclient itself.
"""

from __future__ import annotations

from imapclient import IMAPClient, imap_utf7

__all__ = ["IMAPClient", "encode_folder_name"]


def encode_folder_name(folder: str) -> str:
    """A folder name in IMAP's modified UTF-7, as the server stores it."""
    return imap_utf7.encode(folder).decode("ascii")
