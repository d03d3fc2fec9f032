"""Session policies: the YAML users write, its JSON schema, and matching evidence.

A session names services; each service says what may run (MRENCLAVE values,
or MRSIGNER + ISVPRODID + minimum ISVSVN), whether debug enclaves and SIM
evidence are accepted (both off by default), and what it gets: arguments,
environment, files, volumes, TLS identities. Strings in those may name
secrets as ``$$SCONE::name$$`` (PROTOCOL.md "Secrets and substitution").
Validation happens at the edge (CLI and server) with one line per problem,
each naming the field: ``s.yaml: services[0].mrenclaves[1]: not 64 hex digits``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from scone_cc.errors import SconeError

HEX64 = "^[0-9a-fA-F]{64}$"
HEX32 = "^[0-9a-fA-F]{32}$"      # a volume key: 16 bytes, as scone-fs takes it
NAME = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SECRET_NAME = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SESSION_CA = "SESSION_CA"
SUBST = re.compile(r"\$\$SCONE::([A-Za-z0-9][A-Za-z0-9_-]*)(?:\.([a-z0-9]+))?\$\$")
SUFFIXES = {  # kind -> suffixes it answers; "" is the bare name
    "random": {"", "hex", "b64"},
    "password": {""},
    "ec-key": {"", "key", "pub"},
    "x509": {"", "crt", "key", "chain"},
    "ca": {"", "crt"},
}

_u16 = {"type": "integer", "minimum": 0, "maximum": 65535}
_text = {"type": "string", "maxLength": 1 << 20}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "services"],
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "predecessor": {"type": "string", "pattern": HEX64},
        "secrets": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "kind"],
            "properties": {
                "name": {"type": "string", "pattern": SECRET_NAME},
                "kind": {"enum": ["random", "password", "ec-key", "x509"]},
                "size": {"type": "integer", "minimum": 1, "maximum": 4096},
                "common_name": {"type": "string", "minLength": 1, "maxLength": 64},
                "dns": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 253}},
                "days": {"type": "integer", "minimum": 1, "maximum": 36500},
            }}},
        "volumes": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "pattern": NAME},
                           "key": {"type": "string", "pattern": HEX32},
                           "tag": {"type": "string", "pattern": HEX64}}}},
        "services": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": NAME},
                "mrenclaves": {"type": "array", "items": {"type": "string", "pattern": HEX64}},
                "signers": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["mrsigner", "isvprodid"],
                    "properties": {"mrsigner": {"type": "string", "pattern": HEX64},
                                   "isvprodid": _u16, "min_isvsvn": _u16}}},
                "allow_debug": {"type": "boolean"},
                "allow_sim": {"type": "boolean"},
                "args": {"type": "array", "items": _text},
                "env": {"type": "object", "propertyNames": {"pattern": "^[^=\\x00]+$"},
                        "additionalProperties": _text},
                "files": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["path"],
                    "properties": {"path": {"type": "string", "pattern": "^/"},
                                   "content": _text,
                                   "content_base64": {"type": "string", "contentEncoding": "base64"},
                                   "mode": {"type": "integer", "minimum": 0, "maximum": 0o7777}},
                    "oneOf": [{"required": ["content"]}, {"required": ["content_base64"]}]}},
                "volumes": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "path"],
                    "properties": {"name": {"type": "string", "pattern": NAME},
                                   "path": {"type": "string", "pattern": "^/"}}}},
                "tls": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["name", "certificate", "private_key"],
                    "properties": {"name": {"type": "string", "pattern": NAME},
                                   "certificate": _text, "private_key": _text, "ca": _text}}},
            }}},
    },
}

_SAY = {HEX64: "not 64 hex digits",
        HEX32: "not 32 hex digits (a volume key is 16 bytes, as `scone-fs --key-hex` takes it)", NAME: "not a name (letters, digits, _ . -; at most 64)",
        SECRET_NAME: "not a secret name (letters, digits, _ -; at most 64)",
        "^/": "not an absolute path"}


class PolicyError(SconeError):
    """A session document that breaks the schema or refers to what it does not define."""


def _where(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _say(err) -> str:
    if err.validator == "pattern":
        return _SAY.get(err.validator_value, f"does not match {err.validator_value}")
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"missing field '{missing}'"
    if err.validator == "additionalProperties" and err.validator_value is False:
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
    if err.validator == "oneOf" and "content" in json.dumps(err.schema):
        return "give exactly one of 'content' and 'content_base64'"
    if err.validator == "type":
        return f"must be {'an' if err.validator_value[0] in 'aeiou' else 'a'} {err.validator_value}"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    return err.message


def problems(doc) -> list[str]:
    """Every problem of ``doc`` as ``field: reason`` lines (schema, then cross-references)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    found = [f"{_where(e.absolute_path)}: {_say(e)}"
             for e in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])]
    if found:
        return found
    return _cross_problems(doc)


def _dupes(items, where: str) -> list[str]:
    seen, out = set(), []
    for i, item in enumerate(items):
        if item["name"] in seen:
            out.append(f"{where}[{i}].name: '{item['name']}' is defined twice")
        seen.add(item["name"])
    return out


def _cross_problems(doc) -> list[str]:
    found = _dupes(doc.get("secrets", []), "secrets") + _dupes(doc.get("volumes", []), "volumes")
    found += _dupes(doc["services"], "services")
    kinds = {s["name"]: s["kind"] for s in doc.get("secrets", [])}
    if SESSION_CA in kinds:
        found.append(f"secrets: '{SESSION_CA}' is reserved for the session's CA")
    kinds[SESSION_CA] = "ca"
    for i, s in enumerate(doc.get("secrets", [])):
        if s["kind"] == "x509" and "common_name" not in s:
            found.append(f"secrets[{i}].common_name: missing field 'common_name' (an x509 secret needs it)")
    volumes = {v["name"] for v in doc.get("volumes", [])}
    for i, svc in enumerate(doc["services"]):
        at = f"services[{i}]"
        if not svc.get("mrenclaves") and not svc.get("signers"):
            found.append(f"{at}: neither 'mrenclaves' nor 'signers': nothing would be allowed to run")
        for j, v in enumerate(svc.get("volumes", [])):
            if v["name"] not in volumes:
                found.append(f"{at}.volumes[{j}].name: '{v['name']}' is not in the session's volumes")
        for where, text in _strings(svc, at):
            for m in SUBST.finditer(text):
                name, suffix = m.group(1), m.group(2) or ""
                if name not in kinds:
                    found.append(f"{where}: {m.group(0)} names no secret of this session")
                elif suffix not in SUFFIXES[kinds[name]]:
                    allowed = ", ".join(f".{x}" for x in sorted(SUFFIXES[kinds[name]]) if x)
                    found.append(f"{where}: {m.group(0)}: a {kinds[name]} secret has no '.{suffix}' "
                                 f"(it has {allowed or 'only the bare name'})")
    return found


def _strings(svc, at):
    for j, a in enumerate(svc.get("args", [])):
        yield f"{at}.args[{j}]", a
    for k, v in svc.get("env", {}).items():
        yield f"{at}.env.{k}", v
    for j, f in enumerate(svc.get("files", [])):
        if "content" in f:
            yield f"{at}.files[{j}].content", f["content"]
    for j, t in enumerate(svc.get("tls", [])):
        for key in ("certificate", "private_key", "ca"):
            if key in t:
                yield f"{at}.tls[{j}].{key}", t[key]


def check(doc, where: str = "session") -> dict:
    """``doc`` if valid, else PolicyError with one ``where: field: reason`` line per problem."""
    found = problems(doc)
    if found:
        raise PolicyError("\n".join(f"{where}: {p}" for p in found))
    return doc


def load_yaml(path) -> dict:
    """Read and validate a session file; every problem names the file and the field."""
    import yaml

    try:
        text = open(path, encoding="utf-8").read()
    except OSError as err:
        raise PolicyError(f"{path}: cannot read the session file ({err.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise PolicyError(f"{path}{at}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: a session is a mapping with 'name' and 'services'")
    return check(doc, str(path))


def canonical(doc) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def session_hash(policy: dict, predecessor: str | None) -> str:
    """A version's hash: SHA-256 over the policy and its predecessor's hash (a chain)."""
    import hashlib
    return hashlib.sha256(canonical({"policy": policy, "predecessor": predecessor})).hexdigest()


# --- matching evidence ------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def decide(session: str, svc: dict, report, *, sim: bool) -> Decision:
    """Whether ``report`` (a ReportBody) may receive ``svc``'s configuration, and why not.

    Order: evidence kind (SIM), debug, then identity (MRENCLAVE list, else
    MRSIGNER + ISVPRODID + minimum ISVSVN). The reason names the session and
    service so the enclave's one line says where to look.
    """
    where = f"session {session}/service {svc['name']}"
    if sim and not svc.get("allow_sim", False):
        return Decision(False, f"SIM evidence is not accepted by {where} (allow_sim is false)")
    if report.debug and not svc.get("allow_debug", False):
        return Decision(False, f"debug enclave (ATTRIBUTES.DEBUG set) is not accepted by {where} "
                               "(allow_debug is false)")
    mre = report.mrenclave.hex()
    if mre in {m.lower() for m in svc.get("mrenclaves", [])}:
        return Decision(True)
    mrs = report.mrsigner.hex()
    for s in svc.get("signers", []):
        if s["mrsigner"].lower() == mrs and s["isvprodid"] == report.isvprodid:
            if report.isvsvn >= s.get("min_isvsvn", 0):
                return Decision(True)
            return Decision(False, f"ISVSVN {report.isvsvn} is below the minimum {s.get('min_isvsvn', 0)} "
                                   f"of {where}")
    signer = f" (MRSIGNER {mrs[:16]}…, ISVPRODID {report.isvprodid})" if svc.get("signers") else ""
    return Decision(False, f"MRENCLAVE {mre[:16]}…{signer} is not allowed by {where}")
