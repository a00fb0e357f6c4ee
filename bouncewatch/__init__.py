"""bouncewatch: watch a bounce mailbox over IMAP and keep a blocklist of dead addresses."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bouncewatch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
