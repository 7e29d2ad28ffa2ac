"""The errors a user can cause and fix, in a module that imports nothing heavy: the commands name them
in their error policy (`qamoe.cli.common.clear_errors`) before torch is loaded."""


class DataError(ValueError):
    """A data set that cannot be used as it is; the message says what is wrong."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says which file and what is wrong."""
