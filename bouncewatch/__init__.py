"""bouncewatch: watch a bounce mailbox over IMAP and keep a blocklist of dead addresses."""

__version__ = "0.1.0"
CONFIG_ENV = "BOUNCEWATCH_CONFIG"  # names the config file when -c is not given
