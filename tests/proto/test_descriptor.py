"""The package's .proto sources, compiled, must be the servers' wire schema.

The reference JSON (copied under reference/) describes every message, field, enum, service and
method of OpenBao, Vault, their union and go-plugin. Our sources are compiled to a
FileDescriptorSet and rendered into the same shape; the union and go-plugin must come out
identical (file names aside, which are ours), and each server's schema must be contained.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2

FDP = descriptor_pb2.FieldDescriptorProto
TYPE_NAMES = {number: name.removeprefix("TYPE_").lower() for name, number in FDP.Type.items()}
LABEL_NAMES = {number: name.removeprefix("LABEL_").lower() for name, number in FDP.Label.items()}

# One declaration, rendered as plain data: ("message" | "enum" | "service", full name) -> body.
Key = tuple[str, str]
Index = dict[Key, dict[str, Any]]
Json = dict[str, Any]

PROTOCOL_REFERENCES = ("union.json", "go-plugin.json")
SERVER_REFERENCES = ("openbao.json", "vault.json")


# -- rendering a FileDescriptorSet ---------------------------------------------------------------


def _qualify(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Rendered:
    """A FileDescriptorSet as the reference JSON describes one."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self.index: Index = {}
        # file name -> (package, syntax, dependencies, top-level declaration keys)
        self.files: dict[str, tuple[str, str, list[str], set[Key]]] = {}
        map_entries: dict[str, descriptor_pb2.DescriptorProto] = {}
        for fd in fds.file:
            self._collect_map_entries(fd.message_type, fd.package, map_entries)
        for fd in fds.file:
            top: set[Key] = set()
            for message in fd.message_type:
                top.add(("message", _qualify(fd.package, message.name)))
                self._add_message(message, fd.package, map_entries)
            for enum in fd.enum_type:
                top.add(("enum", _qualify(fd.package, enum.name)))
                self._add_enum(enum, fd.package)
            for service in fd.service:
                top.add(("service", _qualify(fd.package, service.name)))
                self._add_service(service, fd.package)
            self.files[fd.name] = (fd.package, fd.syntax or "proto2", list(fd.dependency), top)

    def _collect_map_entries(
        self,
        messages: Iterable[descriptor_pb2.DescriptorProto],
        prefix: str,
        out: dict[str, descriptor_pb2.DescriptorProto],
    ) -> None:
        for message in messages:
            full = _qualify(prefix, message.name)
            if message.options.map_entry:
                out["." + full] = message
            self._collect_map_entries(message.nested_type, full, out)

    def _add_message(
        self,
        message: descriptor_pb2.DescriptorProto,
        prefix: str,
        map_entries: Mapping[str, descriptor_pb2.DescriptorProto],
    ) -> None:
        full = _qualify(prefix, message.name)
        nested = [n for n in message.nested_type if not n.options.map_entry]
        self.index[("message", full)] = {
            "fields": sorted(
                (self._field(f, message, map_entries) for f in message.field),
                key=lambda f: int(f["number"]),
            ),
            "nested": sorted(_qualify(full, n.name) for n in nested),
            "enums": sorted(_qualify(full, e.name) for e in message.enum_type),
        }
        for inner in nested:
            self._add_message(inner, full, map_entries)
        for enum in message.enum_type:
            self._add_enum(enum, full)

    @staticmethod
    def _field(
        field: descriptor_pb2.FieldDescriptorProto,
        owner: descriptor_pb2.DescriptorProto,
        map_entries: Mapping[str, descriptor_pb2.DescriptorProto],
    ) -> Json:
        out: Json = {
            "number": field.number,
            "name": field.name,
            "type": TYPE_NAMES[field.type],
            "label": LABEL_NAMES[field.label],
        }
        entry = map_entries.get(field.type_name) if field.type == FDP.TYPE_MESSAGE else None
        if entry is not None and field.label == FDP.LABEL_REPEATED:
            key, value = sorted(entry.field, key=lambda f: f.number)
            out["map"] = {
                "key": TYPE_NAMES[key.type],
                "value": value.type_name
                if value.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM)
                else TYPE_NAMES[value.type],
            }
        elif field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM):
            out["type_name"] = field.type_name
        # None of the servers' fields has these; render them so an accidental one shows up.
        if field.proto3_optional:
            out["proto3_optional"] = True
        elif field.HasField("oneof_index"):
            out["oneof"] = owner.oneof_decl[field.oneof_index].name
        if field.options.HasField("packed"):
            out["packed"] = field.options.packed
        return out

    def _add_enum(self, enum: descriptor_pb2.EnumDescriptorProto, prefix: str) -> None:
        self.index[("enum", _qualify(prefix, enum.name))] = {
            "values": sorted(
                ({"name": v.name, "number": v.number} for v in enum.value),
                key=lambda v: (int(v["number"]), str(v["name"])),
            )
        }

    def _add_service(self, service: descriptor_pb2.ServiceDescriptorProto, prefix: str) -> None:
        self.index[("service", _qualify(prefix, service.name))] = {
            "methods": sorted(
                (
                    {
                        "name": m.name,
                        "input": m.input_type,
                        "output": m.output_type,
                        "client_streaming": m.client_streaming,
                        "server_streaming": m.server_streaming,
                    }
                    for m in service.method
                ),
                key=lambda m: str(m["name"]),
            )
        }


# -- rendering a reference JSON ------------------------------------------------------------------


def _without_servers(items: Iterable[Json]) -> list[Json]:
    return [{k: v for k, v in item.items() if k != "servers"} for item in items]


def _reference_message(message: Json, index: Index) -> None:
    index[("message", message["name"])] = {
        "fields": sorted(_without_servers(message["fields"]), key=lambda f: int(f["number"])),
        "nested": sorted(n["name"] for n in message["nested"]),
        "enums": sorted(e["name"] for e in message["enums"]),
    }
    for nested in message["nested"]:
        _reference_message(nested, index)
    for enum in message["enums"]:
        _reference_enum(enum, index)


def _reference_enum(enum: Json, index: Index) -> None:
    index[("enum", enum["name"])] = {
        "values": sorted(
            _without_servers(enum["values"]), key=lambda v: (int(v["number"]), str(v["name"]))
        )
    }


def reference_index(reference: Json) -> Index:
    index: Index = {}
    for file in reference["files"]:
        for message in file["messages"]:
            _reference_message(message, index)
        for enum in file["enums"]:
            _reference_enum(enum, index)
        for service in file["services"]:
            index[("service", service["name"])] = {
                "methods": sorted(_without_servers(service["methods"]), key=lambda m: m["name"])
            }
    return index


def load_reference(reference_dir: Path, name: str) -> Json:
    data: Json = json.loads((reference_dir / name).read_text())
    return data


# -- comparing -----------------------------------------------------------------------------------


def _fmt(key: Key) -> str:
    return f"{key[0]} {key[1]}"


def exact_differences(expected: Index, actual: Index) -> list[str]:
    """Everything that keeps ``actual`` from being ``expected``, one line each."""
    lines = [f"missing {_fmt(k)}" for k in sorted(expected.keys() - actual.keys())]
    lines += [f"unexpected {_fmt(k)}" for k in sorted(actual.keys() - expected.keys())]
    for key in sorted(expected.keys() & actual.keys()):
        lines += [f"{_fmt(key)}: {d}" for d in _body_differences(expected[key], actual[key])]
    return lines


def _body_differences(expected: Json, actual: Json) -> Iterator[str]:
    for part in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(part), actual.get(part)
        if want != got:
            yield f"{part} differ:\n    expected {want}\n    found    {got}"


def containment_differences(expected: Index, actual: Index) -> list[str]:
    """What of ``expected`` is missing from or different in ``actual`` (extras allowed)."""
    lines: list[str] = []
    for key, want in sorted(expected.items()):
        got = actual.get(key)
        if got is None:
            lines.append(f"missing {_fmt(key)}")
            continue
        kind = key[0]
        if kind == "message":
            lines += _contained(key, "field", want["fields"], got["fields"], "number")
            lines += [
                f"{_fmt(key)}: missing nested {n}" for n in set(want["nested"]) - set(got["nested"])
            ]
            lines += [
                f"{_fmt(key)}: missing enum {e}" for e in set(want["enums"]) - set(got["enums"])
            ]
        elif kind == "enum":
            lines += _contained(key, "value", want["values"], got["values"], "number")
        else:
            lines += _contained(key, "method", want["methods"], got["methods"], "name")
    return lines


def _contained(key: Key, what: str, want: list[Json], got: list[Json], by: str) -> list[str]:
    found = {item[by]: item for item in got}
    lines = []
    for item in want:
        mine = found.get(item[by])
        if mine != item:
            lines.append(f"{_fmt(key)}: {what} {item}\n    found {mine}")
    return lines


def report(lines: list[str]) -> str:
    return f"{len(lines)} difference(s):\n" + "\n".join(lines)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def descriptor_set(
    tmp_path_factory: pytest.TempPathFactory,
    run_generate: Callable[..., subprocess.CompletedProcess[str]],
) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path_factory.mktemp("descriptors") / "vault_plugin_proto.binpb"
    result = run_generate("--descriptor-set", str(out))
    assert result.returncode == 0, result.stderr
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


@pytest.fixture(scope="module")
def ours(descriptor_set: descriptor_pb2.FileDescriptorSet) -> Rendered:
    return Rendered(descriptor_set)


def own_declarations(rendered: Rendered) -> Index:
    """Our declarations, without the google.protobuf well-known types compiled in as imports."""
    return {k: v for k, v in rendered.index.items() if not k[1].startswith("google.protobuf.")}


# -- tests ---------------------------------------------------------------------------------------


def test_matches_union_and_go_plugin_exactly(ours: Rendered, reference_dir: Path) -> None:
    expected: Index = {}
    for name in PROTOCOL_REFERENCES:
        expected |= reference_index(load_reference(reference_dir, name))
    differences = exact_differences(expected, own_declarations(ours))
    assert not differences, report(differences)
    # The union's sizes (reference/README.md), so a reference copy that lost content cannot pass.
    messages = [k for k in expected if k[0] == "message" and not k[1].startswith("plugin.")]
    fields = sum(len(expected[k]["fields"]) for k in messages)
    methods = sum(
        len(v["methods"])
        for k, v in expected.items()
        if k[0] == "service" and not k[1].startswith("plugin.")
    )
    assert (len(messages), fields, methods) == (81, 252, 38)


@pytest.mark.parametrize("server", SERVER_REFERENCES)
def test_contains_each_servers_schema(ours: Rendered, reference_dir: Path, server: str) -> None:
    expected = reference_index(load_reference(reference_dir, server))
    assert expected, f"{server} holds no declarations"
    differences = containment_differences(expected, ours.index)
    assert not differences, report(differences)


def test_each_reference_file_has_one_counterpart(ours: Rendered, reference_dir: Path) -> None:
    """Same grouping of declarations into files, packages and imports; only names are ours."""
    counterpart: dict[str, str] = {}
    for name in PROTOCOL_REFERENCES:
        for file in load_reference(reference_dir, name)["files"]:
            declared = {("message", m["name"]) for m in file["messages"]}
            declared |= {("enum", e["name"]) for e in file["enums"]}
            declared |= {("service", s["name"]) for s in file["services"]}
            matches = [n for n, (*_, top) in ours.files.items() if top == declared]
            assert len(matches) == 1, f"{file['name']}: our files declaring the same {matches}"
            counterpart[file["name"]] = matches[0]
            package, syntax, _, _ = ours.files[matches[0]]
            assert (package, syntax) == (file["package"], file["syntax"]), matches[0]
    for name in PROTOCOL_REFERENCES:
        for file in load_reference(reference_dir, name)["files"]:
            ours_name = counterpart[file["name"]]
            want = sorted(counterpart.get(dep, dep) for dep in file["dependencies"])
            assert sorted(ours.files[ours_name][2]) == want, ours_name
    assert all(n.startswith("vault_plugin_proto/") for n in counterpart.values())
    own_files = {n for n in ours.files if not n.startswith("google/protobuf/")}
    assert own_files == set(counterpart.values())


def test_comparison_catches_wire_changes(
    descriptor_set: descriptor_pb2.FileDescriptorSet, reference_dir: Path
) -> None:
    """The comparison above is only worth something if it notices a changed wire schema."""
    mutated = descriptor_pb2.FileDescriptorSet()
    mutated.CopyFrom(descriptor_set)
    for fd in mutated.file:
        for message in fd.message_type:
            if (fd.package, message.name) == ("pb", "LeaseOptions"):
                next(f for f in message.field if f.name == "MaxTTL").number = 6
            if (fd.package, message.name) == ("pb", "StorageEntry"):
                next(f for f in message.field if f.name == "value").type = FDP.TYPE_STRING
            if (fd.package, message.name) == ("pb", "SetupArgs"):
                entry = next(n for n in message.nested_type if n.options.map_entry)
                next(f for f in entry.field if f.number == 2).type = FDP.TYPE_BYTES
        for service in fd.service:
            if (fd.package, service.name) == ("plugin", "GRPCBroker"):
                service.method[0].client_streaming = False
    expected: Index = {}
    for name in PROTOCOL_REFERENCES:
        expected |= reference_index(load_reference(reference_dir, name))
    differences = exact_differences(expected, own_declarations(Rendered(mutated)))
    changed = {line.split(":")[0] for line in differences}
    assert changed == {
        "message pb.LeaseOptions",
        "message pb.StorageEntry",
        "message pb.SetupArgs",
        "service plugin.GRPCBroker",
    }
    vault = reference_index(load_reference(reference_dir, "vault.json"))
    assert any(
        "pb.LeaseOptions" in line
        for line in containment_differences(vault, Rendered(mutated).index)
    )


def test_health_service_from_dependency_is_the_wire_schema(reference_dir: Path) -> None:
    """The plugin serves grpc.health.v1 from grpcio-health-checking rather than its own copy."""
    file = descriptor_pb2.FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(file)
    installed = Rendered(descriptor_pb2.FileDescriptorSet(file=[file])).index
    expected = reference_index(load_reference(reference_dir, "grpc-health.json"))
    service = ("service", "grpc.health.v1.Health")
    installed_methods = {m["name"] for m in installed.get(service, {}).get("methods", [])}
    if "List" not in installed_methods:
        # List and its messages came with grpcio-health-checking 1.7x; no host calls them.
        expected[service] = {
            "methods": [m for m in expected[service]["methods"] if m["name"] != "List"]
        }
        for name in ("grpc.health.v1.HealthListRequest", "grpc.health.v1.HealthListResponse"):
            del expected[("message", name)]
    differences = exact_differences(expected, installed)
    assert not differences, report(differences)
    assert {"Check", "Watch"} <= installed_methods


def test_reference_copies_match_their_checksums(reference_dir: Path) -> None:
    """The reference files are data, not code to tidy: any edit must come with new checksums."""
    listed: dict[str, str] = {}
    for line in (reference_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.lstrip("*")] = digest
    present = {path.name for path in reference_dir.glob("*.json")}
    assert set(listed) == present, "SHA256SUMS must list exactly the reference JSON files"
    for name, digest in sorted(listed.items()):
        actual = hashlib.sha256((reference_dir / name).read_bytes()).hexdigest()
        assert actual == digest, f"reference/{name} changed; see reference/README.md"
