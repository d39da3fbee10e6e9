"""Errors the video layer reports to the user as one line."""


class VideoError(RuntimeError):
    """An input that cannot be read or an output that cannot be written; the message says why."""


class SettingsError(VideoError):
    """Settings that cannot work (an unknown extension, a codec the container cannot hold, a CRF
    out of range, a device that does not exist): the user's to fix, so the CLI exits 2."""
