"""fwmerge.Error: every failure of the library, with its status and message."""

from __future__ import annotations

from ._enums import Status
from ._library import _fwmerge


class Error(Exception):
    """A failed fwmerge call.

    `status` is the library's code (a `Status`; a plain int for a code this binding does not
    know) and `message` the library's text (fw_last_error()), e.g. the Python traceback of an
    objective that raised (status `Status.CALLBACK`).
    """

    status: Status | int
    message: str

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        try:
            self.status = Status(status)
        except ValueError:
            self.status = int(status)
        self.message = message

    @property
    def status_name(self) -> str:
        """The library's stable name of the status, e.g. "FW_ERR_IO"."""
        return _fwmerge.fw_status_name(int(self.status))

    def __str__(self) -> str:
        return f"{self.status_name}: {self.message}"


# The compiled module raises this class itself, with the message read right after the call.
_fwmerge.fwpy_set_error_class(Error)
