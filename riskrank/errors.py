"""Errors meant for the person at the keyboard: the CLI prints the message, no stack trace, and exits 2."""


class UserError(Exception):
    """Bad input or a refused operation; the message says what was wrong and changes nothing."""
