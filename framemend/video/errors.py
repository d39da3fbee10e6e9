"""Errors the video layer reports to the user as one line."""


class VideoError(RuntimeError):
    """An input that cannot be read or an output that cannot be written; the message says why."""
