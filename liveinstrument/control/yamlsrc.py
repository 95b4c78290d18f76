"""YAML loading that remembers where every value came from, for error messages.

PyYAML's ``safe_load`` forgets line numbers and silently keeps the last of two
duplicate keys; a performer editing a mapping by hand needs both reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple  # a key path into the document, e.g. ("midi", "cc", 20)


@dataclass
class YamlDoc:
    """Parsed data plus ``lines[path] -> 1-based line`` and the source text."""
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    spans: dict[Path_, tuple[int, int]] = field(default_factory=dict)  # key path -> (start, end) char offsets of "key: value"
    duplicates: list[tuple[Path_, int, int]] = field(default_factory=list)  # (path, first line, second line)
    text: str = ""

    def line(self, path: Path_) -> int | None:
        """Line of ``path`` or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def load_yaml(text: str) -> YamlDoc:
    """Parse one YAML document; raise ``yaml.YAMLError`` (which carries a line) on syntax errors."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(data=None, text=text)
        data = loader.construct_document(node)
        doc = YamlDoc(data=data, text=text)
        _walk(loader, node, (), doc)
        return doc
    finally:
        loader.dispose()


def _walk(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: YamlDoc) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
                hash(key)
            except Exception:  # an unhashable key: PyYAML already raised while constructing
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.duplicates.append((path + (key,), seen[key], line))
            seen[key] = line
            doc.lines[path + (key,)] = line
            doc.spans[path + (key,)] = (key_node.start_mark.index, value_node.end_mark.index)
            _walk(loader, value_node, path + (key,), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(loader, item, path + (i,), doc)
