from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entity(_message.Message):
    __slots__ = ("ID", "name", "aliases", "metadata", "disabled", "namespace_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    ID: str
    name: str
    aliases: _containers.RepeatedCompositeFieldContainer[Alias]
    metadata: _containers.ScalarMap[str, str]
    disabled: bool
    namespace_id: str
    def __init__(self, ID: _Optional[str] = ..., name: _Optional[str] = ..., aliases: _Optional[_Iterable[_Union[Alias, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., disabled: bool = ..., namespace_id: _Optional[str] = ...) -> None: ...

class Alias(_message.Message):
    __slots__ = ("mount_type", "mount_accessor", "name", "metadata", "ID", "namespace_id", "custom_metadata", "local")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CustomMetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MOUNT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MOUNT_ACCESSOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_METADATA_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    mount_type: str
    mount_accessor: str
    name: str
    metadata: _containers.ScalarMap[str, str]
    ID: str
    namespace_id: str
    custom_metadata: _containers.ScalarMap[str, str]
    local: bool
    def __init__(self, mount_type: _Optional[str] = ..., mount_accessor: _Optional[str] = ..., name: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., ID: _Optional[str] = ..., namespace_id: _Optional[str] = ..., custom_metadata: _Optional[_Mapping[str, str]] = ..., local: bool = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("ID", "name", "metadata", "namespace_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_ID_FIELD_NUMBER: _ClassVar[int]
    ID: str
    name: str
    metadata: _containers.ScalarMap[str, str]
    namespace_id: str
    def __init__(self, ID: _Optional[str] = ..., name: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., namespace_id: _Optional[str] = ...) -> None: ...

class MFARequirement(_message.Message):
    __slots__ = ("mfa_request_id", "mfa_constraints")
    class MfaConstraintsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MFAConstraintAny
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MFAConstraintAny, _Mapping]] = ...) -> None: ...
    MFA_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MFA_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    mfa_request_id: str
    mfa_constraints: _containers.MessageMap[str, MFAConstraintAny]
    def __init__(self, mfa_request_id: _Optional[str] = ..., mfa_constraints: _Optional[_Mapping[str, MFAConstraintAny]] = ...) -> None: ...

class MFAConstraintAny(_message.Message):
    __slots__ = ("any",)
    ANY_FIELD_NUMBER: _ClassVar[int]
    any: _containers.RepeatedCompositeFieldContainer[MFAMethodID]
    def __init__(self, any: _Optional[_Iterable[_Union[MFAMethodID, _Mapping]]] = ...) -> None: ...

class MFAMethodID(_message.Message):
    __slots__ = ("type", "id", "uses_passcode", "name")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    USES_PASSCODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    uses_passcode: bool
    name: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., uses_passcode: bool = ..., name: _Optional[str] = ...) -> None: ...
