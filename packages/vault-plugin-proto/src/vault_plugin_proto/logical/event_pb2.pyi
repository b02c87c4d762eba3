from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventData(_message.Message):
    __slots__ = ("id", "metadata", "entity_ids", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    metadata: _struct_pb2.Struct
    entity_ids: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., entity_ids: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class EventPluginInfo(_message.Message):
    __slots__ = ("mount_class", "mount_accessor", "mount_path", "plugin", "plugin_version", "version")
    MOUNT_CLASS_FIELD_NUMBER: _ClassVar[int]
    MOUNT_ACCESSOR_FIELD_NUMBER: _ClassVar[int]
    MOUNT_PATH_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    mount_class: str
    mount_accessor: str
    mount_path: str
    plugin: str
    plugin_version: str
    version: str
    def __init__(self, mount_class: _Optional[str] = ..., mount_accessor: _Optional[str] = ..., mount_path: _Optional[str] = ..., plugin: _Optional[str] = ..., plugin_version: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class EventReceived(_message.Message):
    __slots__ = ("event", "namespace", "event_type", "plugin_info")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_INFO_FIELD_NUMBER: _ClassVar[int]
    event: EventData
    namespace: str
    event_type: str
    plugin_info: EventPluginInfo
    def __init__(self, event: _Optional[_Union[EventData, _Mapping]] = ..., namespace: _Optional[str] = ..., event_type: _Optional[str] = ..., plugin_info: _Optional[_Union[EventPluginInfo, _Mapping]] = ...) -> None: ...
