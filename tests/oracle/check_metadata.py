#!/usr/bin/env python3
"""gmg-inspect --json vs gguf-py's GGUFReader: every key, type, value and tensor record.

Writes a GGUF with every metadata value type (scalars at their extremes, arrays of
each element type, strings with quotes, newlines and emoji), a custom alignment and
tensors of 1-4 dimensions, then compares our JSON with GGUFReader's view of it;
also compares any extra model files given.

usage: check_metadata.py GMG_INSPECT WORKDIR [MODEL.gguf ...]
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType as V

sys.path.insert(0, str(Path(__file__).parent))
from oracle_common import summary  # noqa: E402

TYPE_NAMES = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32", V.INT32: "i32",
              V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string", V.ARRAY: "array", V.UINT64: "u64",
              V.INT64: "i64", V.FLOAT64: "f64"}


def write_all_types(path: Path):
    w = gguf.GGUFWriter(str(path), arch="oracle")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 255)
    w.add_int8("t.i8", -128)
    w.add_uint16("t.u16", 65535)
    w.add_int16("t.i16", -32768)
    w.add_uint32("t.u32", 4294967295)
    w.add_int32("t.i32", -2147483648)
    w.add_float32("t.f32", 1.17549435e-38)
    w.add_uint64("t.u64", 2**64 - 1)
    w.add_int64("t.i64", -2**63)
    w.add_float64("t.f64", -1.7976931348623157e308)
    w.add_bool("t.bool_true", True)
    w.add_bool("t.bool_false", False)
    w.add_string("t.string", 'quote " backslash \\ newline \n tab \t emoji \U0001F600 ñ')
    w.add_string("t.empty_string", "")
    for vt, vals in [(V.UINT8, [0, 7, 255]), (V.INT8, [-128, 0, 127]), (V.UINT16, [1, 65535]),
                     (V.INT16, [-32768, 5]), (V.UINT32, [4294967295, 0]), (V.INT32, [-1, 2147483647]),
                     (V.FLOAT32, [0.1, -2.5, 3e38]), (V.UINT64, [2**64 - 1]), (V.INT64, [-2**63, 2**63 - 1]),
                     (V.FLOAT64, [math.pi, -0.0]), (V.BOOL, [True, False, True])]:
        w.add_key_value(f"t.arr_{TYPE_NAMES[vt]}", vals, V.ARRAY, sub_type=vt)
    w.add_array("t.arr_string", ["a", "", "ü \U0001F600", "x" * 300])
    rng = np.random.default_rng(7)
    w.add_tensor("one_dim", rng.standard_normal(7).astype(np.float32))
    w.add_tensor("three_dim", rng.standard_normal((2, 3, 5)).astype(np.float16))
    w.add_tensor("four_dim", rng.standard_normal((2, 1, 3, 4)).astype(np.float32))
    w.add_tensor("q8_0_matrix", rng.integers(0, 256, (3, 34 * 2), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def same_value(ours, ref, vtype: str) -> bool:
    if vtype == "f32":
        return np.float32(ref) == np.float32(ours if not isinstance(ours, str) else float(ours))
    if vtype == "f64":
        return float(ref) == float(ours) and math.copysign(1, float(ref)) == math.copysign(1, float(ours))
    return ours == ref


def compare(inspect: str, path: Path) -> list[str]:
    proc = subprocess.run([inspect, str(path), "--json", "--max-array", "0"], capture_output=True)
    if proc.returncode != 0:
        return [f"gmg-inspect failed: {proc.stderr.decode(errors='replace').strip()}"]
    ours = json.loads(proc.stdout.decode("utf-8"))
    reader = GGUFReader(path)
    errors = []
    # GGUFReader exposes the header counts as pseudo-fields; the real keys follow.
    ref_fields = [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]
    if [m["key"] for m in ours["metadata"]] != [f.name for f in ref_fields]:
        errors.append("metadata keys or their order differ")
    for m, f in zip(ours["metadata"], ref_fields):
        if m["type"] != TYPE_NAMES[f.types[0]]:
            errors.append(f"{f.name}: type {m['type']} vs {TYPE_NAMES[f.types[0]]}")
            continue
        ref = f.contents()
        if m["type"] == "array":
            sub = TYPE_NAMES[f.types[-1]] if len(f.types) > 1 else TYPE_NAMES[V.INT32]
            if len(f.types) > 1 and m["elem_type"] != sub:
                errors.append(f"{f.name}: element type {m['elem_type']} vs {sub}")
            if m["count"] != len(ref) or len(m["value"]) != len(ref):
                errors.append(f"{f.name}: {m['count']} elements vs {len(ref)}")
            elif not all(same_value(a, b, sub) for a, b in zip(m["value"], ref)):
                errors.append(f"{f.name}: array values differ")
        elif not same_value(m["value"], ref, m["type"]):
            errors.append(f"{f.name}: value {m['value']!r} vs {ref!r}")
    if ours["alignment"] != reader.alignment:
        errors.append(f"alignment {ours['alignment']} vs {reader.alignment}")
    if ours["data_offset"] != reader.data_offset:
        errors.append(f"data offset {ours['data_offset']} vs {reader.data_offset}")
    if len(ours["tensors"]) != len(reader.tensors):
        errors.append(f"{len(ours['tensors'])} tensors vs {len(reader.tensors)}")
    for t, r in zip(ours["tensors"], reader.tensors):
        ref = {"name": r.name, "type": r.tensor_type.name, "shape": [int(x) for x in r.shape],
               "n_elements": int(r.n_elements), "bytes": int(r.n_bytes), "offset": int(r.data_offset)}
        got = {k: t[k] for k in ref}
        if got != ref:
            errors.append(f"tensor {r.name}: {got} vs {ref}")
    return errors


def main():
    inspect, workdir = sys.argv[1], Path(sys.argv[2])
    workdir.mkdir(parents=True, exist_ok=True)
    files = [workdir / "all_value_types.gguf"] + [Path(p) for p in sys.argv[3:]]
    write_all_types(files[0])
    passed = failed = 0
    for path in files:
        errors = compare(inspect, path)
        if errors:
            failed += 1
            print(f"FAIL {path.name}:\n  " + "\n  ".join(errors[:20]), file=sys.stderr)
        else:
            passed += 1
            print(f"ok   {path.name}: metadata and tensor records match GGUFReader")
    return summary(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
