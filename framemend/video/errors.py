"""Errors the video layer reports to the user as one line."""


class VideoError(RuntimeError):
    """An input that cannot be read or an output that cannot be written; the message says why."""


class NoVideoStream(VideoError):
    """A file that opens but holds no video stream (an audio file, say); ``streams`` lists what
    it holds (:func:`framemend.video.probe.stream_facts`)."""

    def __init__(self, message: str, streams: list[dict] | None = None):
        # (streams may be left out: an exception is unpickled, in a batch's coordinator, from
        # its message alone)
        super().__init__(message)
        self.streams = streams or []


class SettingsError(VideoError, ValueError):
    """Settings that cannot work (an unknown extension, a codec the container cannot hold, a CRF
    out of range, a device that does not exist): the user's to fix, so the CLI exits 2; a bad
    option to a Python caller, caught as a ``ValueError`` as :class:`OptionError` is."""
