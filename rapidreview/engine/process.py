"""Process bundles: the BPMN (and DMN) files of one process version, parsed into specs.

A bundle is data (file name -> bytes), so the same code parses the ``bpmn/`` folder, an uploaded
version, or a version stored in the database. Errors name the file and, where known, the element.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from rapidreview.engine.service_tasks import CaseBpmnParser

PROCESS_SUFFIXES = (".bpmn", ".dmn")


class ProcessDefinitionError(ValueError):
    """A process file that cannot be used, with where and why in plain words."""

    def __init__(self, message: str, *, file: str | None = None, element: str | None = None) -> None:
        self.file, self.element = file, element
        where = ", ".join(part for part in (file, f"element {element}" if element else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class ProcessBundle:
    files: Mapping[str, bytes]

    @classmethod
    def from_directory(cls, directory: Path) -> ProcessBundle:
        if not directory.is_dir():
            raise ProcessDefinitionError(f"no process folder at {directory}")
        files = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.suffix in PROCESS_SUFFIXES}
        if not any(name.endswith(".bpmn") for name in files):
            raise ProcessDefinitionError(f"no .bpmn file in {directory}")
        return cls(files)

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()


@dataclass
class CompiledProcess:
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any] = field(default_factory=dict)


def _safe_xml(name: str, content: bytes) -> Any:
    # Process files come from people: refuse DTDs outright so no entity can reach files or the network.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise ProcessDefinitionError(f"not well-formed XML: {exc}", file=name) from None
    if root.getroottree().docinfo.doctype or b"<!ENTITY" in content or b"<!DOCTYPE" in content:
        raise ProcessDefinitionError("a DOCTYPE or entity declaration is not allowed in a process file", file=name)
    _check_flow_references(root, name)
    return root


def _check_flow_references(root: Any, name: str) -> None:
    """Every sequence flow joins two elements of its own process (SpiffWorkflow's message is cryptic)."""
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    for process in root.iterfind(".//bpmn:process", ns):
        ids = {el.get("id") for el in process.iter() if el.get("id")}
        for flow in process.iter("{{{}}}sequenceFlow".format(ns["bpmn"])):
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                if ref not in ids:
                    raise ProcessDefinitionError(
                        f"sequence flow {flow.get('id')} has {end}={ref!r}, which is not an element of process "
                        f"{process.get('id')}", file=name, element=flow.get("id"))


def compile_bundle(bundle: ProcessBundle, process_id: str) -> CompiledProcess:
    parser = CaseBpmnParser(validator=VALIDATOR)
    for name, content in sorted(bundle.files.items()):
        root = _safe_xml(name, content)
        try:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        except ValidationException as exc:
            raise ProcessDefinitionError(_describe(exc), file=name, element=getattr(exc, "id", None)) from None
        except (SpiffWorkflowException, etree.LxmlError) as exc:
            raise ProcessDefinitionError(str(exc), file=name) from None
    try:
        spec = parser.get_spec(process_id)
        subprocesses = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise ProcessDefinitionError(_describe(exc), file=getattr(exc, "file_name", None),
                                     element=getattr(exc, "id", None)) from None
    except (SpiffWorkflowException, KeyError, AttributeError, ValueError) as exc:
        raise ProcessDefinitionError(f"cannot build process {process_id!r}: {exc}") from None
    for process_spec in (spec, *subprocesses.values()):
        _connect_loops(process_spec)
    return CompiledProcess(process_id=process_id, spec=spec, subprocess_specs=subprocesses)


def _connect_loops(process_spec: Any) -> None:
    """Wire each multi-instance task to its instances' completion, as SpiffWorkflow's spec deserializer does.

    The parser leaves it to the first workflow that creates an instance; a workflow restored onto these
    specs (rapidreview.engine.storage) may have created its instances in another process, and would wait forever.
    """
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = process_spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _describe(exc: ValidationException) -> str:
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    name = getattr(exc, "name", None)
    return f"{message} ({name})" if name and name not in message else message


def user_task_ids(process: CompiledProcess) -> set[str]:
    """Element ids of every user task in the process and the processes it calls."""
    from SpiffWorkflow.spiff.specs.defaults import UserTask

    specs = [process.spec, *process.subprocess_specs.values()]
    return {t.bpmn_id for spec in specs for t in spec.task_specs.values() if isinstance(t, UserTask) and t.bpmn_id}
