from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VersionReply(_message.Message):
    __slots__ = ("plugin_version",)
    PLUGIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    plugin_version: str
    def __init__(self, plugin_version: _Optional[str] = ...) -> None: ...
