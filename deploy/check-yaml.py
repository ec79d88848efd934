#!/usr/bin/env python3
"""Checks every YAML file under deploy/ (run by `make lint`).

YAML parsers keep the last of two equal keys without a word, so a second `volumeMounts:`
or `volumes:` silently drops the first list, and a setting indented under `metadata:`
instead of `data:` is silently no setting at all. This fails, naming file, line and key,
on:

- a key repeated in one mapping;
- a Kubernetes object whose `metadata` holds anything but object metadata.

Usage: check-yaml.py [DIR_OR_FILE ...]   (default: the deploy/ directory beside this file)
"""

import sys
from pathlib import Path

import yaml

# ObjectMeta's fields a manifest may set (Kubernetes API reference, meta/v1).
OBJECT_META = {
    "name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences",
}


class Problem(Exception):
    pass


class StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor`: explicit keys beside it override, as intended
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise Problem(
                    f"line {key_node.start_mark.line + 1}: key {key!r} repeated "
                    f"(first on line {seen[key] + 1}); the first is silently lost"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def check_object(document, index):
    if not isinstance(document, dict) or "apiVersion" not in document or "kind" not in document:
        return []
    metadata = document.get("metadata") or {}
    stray = sorted(set(metadata) - OBJECT_META) if isinstance(metadata, dict) else []
    return [
        f"document {index + 1} ({document['kind']}): metadata.{key} is not object metadata "
        "(misplaced under metadata?)"
        for key in stray
    ]


def check(path):
    try:
        documents = list(yaml.load_all(path.read_text(), Loader=StrictLoader))
    except (Problem, yaml.YAMLError) as error:
        return [str(error)]
    problems = []
    for index, document in enumerate(documents):
        problems.extend(check_object(document, index))
    return problems


def main(arguments):
    roots = [Path(argument) for argument in arguments] or [Path(__file__).resolve().parent]
    files = sorted(
        path
        for root in roots
        for path in ([root] if root.is_file() else [*root.rglob("*.yaml"), *root.rglob("*.yml")])
    )
    failed = 0
    for path in files:
        for problem in check(path):
            print(f"{path}: {problem}", file=sys.stderr)
            failed += 1
    if failed:
        return 1
    print(f"{len(files)} YAML files: no repeated keys, no stray metadata")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
