"""Validates custom resources against the openAPIV3Schema of vendored CRDs (deploy/kubernetes/crds/).

    validate-crs.py CRD_DIR RESOURCE.yaml...

Each resource's apiVersion/kind selects the CRD version; validation uses PyPI jsonschema. Like
`kubectl apply --validate=strict`, a property the schema does not declare is an error (an object schema
with `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` is closed):
the API server would silently drop a misspelt field. Prints one line per resource; exits 1 on any error.
"""

import copy
import os
import sys

import jsonschema
import yaml


def closed(schema):
    """A copy of the schema with every declared-properties object closed to undeclared ones."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema


def load_crds(directory):
    schemas = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = closed(version["schema"]["openAPIV3Schema"])
                    # metadata is validated by the API server itself; the CRD declares it as a bare object.
                    schema.get("properties", {})["metadata"] = {"type": "object"}
                    schemas[(f"{group}/{version['name']}", kind)] = (name, schema)
    return schemas


def main(argv):
    schemas = load_crds(argv[0])
    failed = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            what = f"{path}: {key[1]} {doc.get('metadata', {}).get('name')}"
            if key not in schemas:
                print(f"FAIL {what}: no vendored CRD for {key[0]} {key[1]}")
                failed += 1
                continue
            crd_file, schema = schemas[key]
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
            if errors:
                failed += 1
                print(f"FAIL {what} against {crd_file}:")
                for e in errors[:20]:
                    print(f"       {'/'.join(str(p) for p in e.path) or '.'}: {e.message[:300]}")
            else:
                print(f"PASS {what} against {crd_file} ({key[0]})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
