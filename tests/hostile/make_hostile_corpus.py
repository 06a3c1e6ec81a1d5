#!/usr/bin/env python3
"""Writes a corpus of hostile GGUF files, each with the error it must produce.

Standard library only. OUTDIR/hostile/*.gguf are files the reader must reject;
OUTDIR/hostile/expected.tsv lists `file<TAB>status<TAB>substring of the message`.
OUTDIR/valid/*.gguf are small well-formed files (also the fuzzer's seeds).

With --check-cli GMG_INSPECT it also runs gmg-inspect on every file: hostile ones
must exit with status 1 (not a signal) and print exactly one line on stderr that
contains the expected text; valid ones must exit 0.

usage: make_hostile_corpus.py OUTDIR [--check-cli GMG_INSPECT]
"""
import argparse
import struct
import subprocess
import sys
from pathlib import Path

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
F32_T, F16_T, Q4_0_T, Q8_0_T = 0, 1, 2, 8


def gstr(s) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload: bytes) -> bytes:
    return gstr(key) + struct.pack("<I", vtype) + payload


def kv_u32(key, v):
    return kv(key, U32, struct.pack("<I", v))


def kv_str(key, s):
    return kv(key, STR, gstr(s))


def tensor_info(name, dims, ttype, offset) -> bytes:
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims) + \
        struct.pack("<IQ", ttype, offset)


def gguf(kvs=(), tensors=(), data=b"", version=3, n_tensors=None, n_kv=None, alignment=32, magic=b"GGUF"):
    """A GGUF image; counts default to the real ones, data is placed after alignment padding."""
    head = magic + struct.pack("<I", version)
    head += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    pad = (-len(body)) % alignment
    return body + b"\0" * pad + data


def valid_files():
    rnd = bytes((i * 37 + 11) % 256 for i in range(4096))
    q8 = b"".join(struct.pack("<e", 0.01 * (i + 1)) + rnd[i * 32:(i + 1) * 32] for i in range(4))  # 4 Q8_0 blocks
    f32 = b"".join(struct.pack("<f", i / 8) for i in range(12))
    return {
        "minimal": gguf(kvs=[kv_str("general.architecture", "gemma3")]),
        "two_tensors": gguf(kvs=[kv_str("general.architecture", "gemma3"), kv_u32("gemma3.block_count", 1),
                                 kv("tokenizer.ggml.tokens", ARR, struct.pack("<IQ", STR, 2) + gstr("<pad>") + gstr("a"))],
                            tensors=[tensor_info("w", [64, 2], Q8_0_T, 0), tensor_info("norm", [12], F32_T, 160)],
                            data=q8 + b"\0" * (160 - len(q8)) + f32),
        "aligned_64": gguf(kvs=[kv_u32("general.alignment", 64)], tensors=[tensor_info("x", [12], F32_T, 0)],
                           data=f32, alignment=64),
    }


def misaligned_f16():
    """alignment 1 and an F16 tensor placed at an odd file offset."""
    def build(off):
        return gguf(kvs=[kv_u32("general.alignment", 1)],
                    tensors=[tensor_info("a", [2], 24, 0), tensor_info("h", [2], F16_T, off)], data=b"\0" * 8,
                    alignment=1)
    data_start = len(build(1)) - 8
    return build(1 if data_start % 2 == 0 else 2)


def hostile_files():
    """name -> (bytes, status, expected message substring)"""
    good_kv = [kv_str("general.architecture", "gemma3")]
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    one_tensor = gguf(kvs=good_kv, tensors=[tensor_info("t", [4], F32_T, 0)], data=f32)
    header_end = 24
    kv_end = header_end + len(good_kv[0])
    info_end = kv_end + len(tensor_info("t", [4], F32_T, 0))
    cases = {
        "empty_file": (b"", "invalid_file", "needs 4 bytes"),
        "bad_magic": (b"GGML" + one_tensor[4:], "invalid_file", "not a GGUF file"),
        "version_0": (gguf(version=0), "unsupported", "version 0 is not supported"),
        "version_1": (gguf(version=1), "unsupported", "version 1 is not supported"),
        "version_4": (gguf(version=4), "unsupported", "version 4 is not supported"),
        "big_endian": (gguf(version=3 << 24), "unsupported", "big-endian"),
        "tensor_count_2_63": (gguf(n_tensors=2**63), "invalid_file", "tensor count is 9223372036854775808"),
        "tensor_count_too_many_for_file": (gguf(n_tensors=1000), "invalid_file", "the tensor count is 1000, but only"),
        "kv_count_max_u64": (gguf(n_kv=2**64 - 1), "invalid_file", "metadata key count is 18446744073709551615"),
        "kv_count_past_eof": (gguf(kvs=good_kv, n_kv=5), "invalid_file", "metadata entry #1"),
        "key_length_past_eof": (gguf()[:16] + struct.pack("<QQ", 1, 500) + b"abc" * 10, "invalid_file",
                                "string length 500 runs past the end"),
        "key_length_2_63": (gguf()[:16] + struct.pack("<QQ", 1, 2**63) + b"k" * 40, "invalid_file",
                            "exceeds the limit"),
        "empty_key": (gguf(kvs=[kv("", U32, struct.pack("<I", 1))]), "invalid_file", "empty key"),
        "unknown_value_type": (gguf(kvs=[kv("a.b", 13, b"\0" * 8)]), "invalid_file", "unknown value type 13"),
        "nested_array": (gguf(kvs=[kv("a.nested", ARR, struct.pack("<IQ", ARR, 1) + struct.pack("<IQ", U8, 1) + b"x")]),
                         "invalid_file", "nested arrays are not supported"),
        "deep_nested_arrays": (gguf(kvs=[kv("a.deep", ARR, struct.pack("<IQ", ARR, 1) * 10000 + b"\0" * 8)]),
                               "invalid_file", "nested arrays are not supported"),
        "array_unknown_elem_type": (gguf(kvs=[kv("a.arr", ARR, struct.pack("<IQ", 99, 1) + b"\0" * 8)]),
                                    "invalid_file", "unknown array element type 99"),
        "array_count_2_62": (gguf(kvs=[kv("a.arr", ARR, struct.pack("<IQ", U32, 2**62))]), "invalid_file",
                             "array length is 4611686018427387904, above the limit"),
        "array_past_eof": (gguf(kvs=[kv("a.arr", ARR, struct.pack("<IQ", U64, 1000) + b"\0" * 16)]), "invalid_file",
                           "array length is 1000, but only"),
        "string_array_past_eof": (gguf(kvs=[kv("a.strs", ARR, struct.pack("<IQ", STR, 3) + gstr("ok") +
                                             struct.pack("<Q", 10**6))]), "invalid_file", "string length 1000000 runs past"),
        "string_value_past_eof": (gguf(kvs=[kv("a.s", STR, struct.pack("<Q", 77) + b"short")]), "invalid_file",
                                  "string length 77 runs past"),
        "duplicate_key": (gguf(kvs=[kv_u32("a.b", 1), kv_u32("a.b", 2)]), "invalid_file", "duplicate metadata key 'a.b'"),
        "alignment_wrong_type": (gguf(kvs=[kv("general.alignment", U64, struct.pack("<Q", 32))]), "invalid_file",
                                 "'general.alignment' must be u32, not u64"),
        "alignment_zero": (gguf(kvs=[kv_u32("general.alignment", 0)]), "invalid_file", "general.alignment = 0"),
        "alignment_not_power_of_two": (gguf(kvs=[kv_u32("general.alignment", 48)]), "invalid_file",
                                       "general.alignment = 48 is not a power of two"),
        "tensor_name_past_eof": (gguf(tensors=[struct.pack("<Q", 64) + b"blk"]), "invalid_file",
                                 "name of tensor #0: string length 64 runs past"),
        "tensor_empty_name": (gguf(tensors=[tensor_info("", [4], F32_T, 0)], data=f32), "invalid_file", "empty name"),
        "tensor_name_too_long": (gguf(tensors=[tensor_info("n" * 300, [4], F32_T, 0)], data=f32), "invalid_file",
                                 "name is 300 bytes"),
        "n_dims_zero": (gguf(tensors=[tensor_info("t", [], F32_T, 0)], data=f32), "invalid_file", "n_dims is 0"),
        "n_dims_five": (gguf(tensors=[tensor_info("t", [1, 1, 1, 1, 4], F32_T, 0)], data=f32), "invalid_file",
                        "n_dims is 5"),
        "negative_dimension": (gguf(tensors=[tensor_info("t", [4, -2], F32_T, 0)], data=f32), "invalid_file",
                               "dimension 1 is negative"),
        "element_count_overflow": (gguf(tensors=[tensor_info("t", [2**32, 2**32], F32_T, 0)], data=f32),
                                   "invalid_file", "element count 4294967296x4294967296x1x1 overflows"),
        "byte_size_overflow": (gguf(tensors=[tensor_info("t", [2**62], F32_T, 0)], data=f32), "invalid_file",
                               "byte size overflows"),
        "retired_type_id": (gguf(tensors=[tensor_info("t", [32], 4, 0)], data=f32), "unsupported",
                            "unknown tensor type id 4"),
        "unknown_type_id": (gguf(tensors=[tensor_info("t", [32], 1000, 0)], data=f32), "unsupported",
                            "unknown tensor type id 1000"),
        "row_not_whole_blocks": (gguf(tensors=[tensor_info("t", [33], Q4_0_T, 0)], data=b"\0" * 64), "invalid_file",
                                 "row length 33 is not a multiple of the Q4_0 block size 32"),
        "duplicate_tensor_name": (gguf(tensors=[tensor_info("t", [4], F32_T, 0), tensor_info("t", [4], F32_T, 32)],
                                       data=f32 + b"\0" * 16 + f32), "invalid_file", "duplicate tensor name 't'"),
        "offset_misaligned": (gguf(tensors=[tensor_info("t", [4], F32_T, 4)], data=f32 * 2), "invalid_file",
                              "data offset 4 is not a multiple of the alignment 32"),
        "offset_past_eof": (gguf(tensors=[tensor_info("t", [4], F32_T, 2**40)], data=f32), "invalid_file",
                            "runs past the end of the file"),
        "offset_near_u64_max": (gguf(tensors=[tensor_info("t", [4], F32_T, 2**64 - 32)], data=f32), "invalid_file",
                                "runs past the end of the file"),
        "data_past_eof": (gguf(tensors=[tensor_info("t", [400], F32_T, 0)], data=f32), "invalid_file",
                          "data [0, +1600 bytes)"),
        "overlapping_tensors": (gguf(tensors=[tensor_info("a", [16], F32_T, 0), tensor_info("b", [16], F32_T, 32)],
                                     data=b"\0" * 96), "invalid_file", "tensors 'a' and 'b' overlap"),
        "misaligned_for_type": (misaligned_f16(), "invalid_file", "misaligned for F16"),
        # The tensor infos end off the alignment grid and the file stops there: no room for padding.
        "data_section_past_eof": (gguf(tensors=[tensor_info("t", [0], F32_T, 0)])[:24 + len(tensor_info("t", [0], F32_T, 0))],
                                  "invalid_file", "would start at byte"),
    }
    # Truncations of a valid file at every section boundary and inside each field.
    # The counts are checked against the bytes left first, so an early cut is
    # reported as a count the file cannot hold.
    cuts = {
        "trunc_in_magic": (2, "needs 4 bytes"), "trunc_in_version": (6, "the GGUF version needs 4 bytes"),
        "trunc_in_tensor_count": (12, "the tensor count needs 8 bytes"),
        "trunc_in_kv_count": (20, "the tensor count is 1, but only 4 bytes remain"),
        "trunc_after_header": (header_end, "the tensor count is 1, but only 8 bytes remain"),
        "trunc_in_key": (header_end + 10, "the tensor count is 1, but only 18 bytes remain"),
        "trunc_before_value_type": (header_end + 8 + 20, "value type needs 4 bytes"),
        "trunc_in_value": (kv_end - 2, "string length 6 runs past"),
        "trunc_after_metadata": (kv_end, "name of tensor #0 needs 8 bytes"),
        "trunc_in_n_dims": (kv_end + 9 + 2, "n_dims needs 4 bytes"),
        "trunc_in_dims": (kv_end + 9 + 4 + 3, "dimension needs 8 bytes"),
        "trunc_in_type": (kv_end + 9 + 4 + 8 + 1, "type needs 4 bytes"),
        "trunc_in_offset": (info_end - 3, "data offset needs 8 bytes"),
        "trunc_in_padding": (info_end + 1, "would start at byte"),
        "trunc_in_tensor_data": (len(one_tensor) - 5, "runs past the end of the file"),
    }
    for name, (cut, msg) in cuts.items():
        cases[name] = (one_tensor[:cut], "invalid_file", msg)
    # Without tensors the key/value section itself is reached.
    kv_only = gguf(kvs=good_kv + [kv_u32("general.quantization_version", 2)])
    cases["trunc_kv_only_in_kv_count"] = (kv_only[:20], "invalid_file", "the metadata key count needs 8 bytes")
    cases["trunc_kv_only_in_second_key"] = (kv_only[:kv_end + 12], "invalid_file",
                                            "string length 28 runs past the end")
    return cases


def check_cli(inspect, outdir, hostile, valid):
    passed = failed = 0
    for name, (_, _, msg) in hostile.items():
        p = subprocess.run([inspect, str(outdir / "hostile" / f"{name}.gguf")], capture_output=True, text=True,
                           timeout=60)
        lines = p.stderr.strip().splitlines()
        if p.returncode == 1 and len(lines) == 1 and lines[0].startswith("gmg-inspect: error:") and msg in lines[0]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: exit {p.returncode}, stderr {p.stderr.strip()[:300]!r}, wanted {msg!r}",
                  file=sys.stderr)
    for name in valid:
        p = subprocess.run([inspect, str(outdir / "valid" / f"{name}.gguf")], capture_output=True, text=True,
                           timeout=60)
        if p.returncode == 0:
            passed += 1
        else:
            failed += 1
            print(f"FAIL valid {name}: exit {p.returncode}: {p.stderr.strip()}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--check-cli", metavar="GMG_INSPECT")
    args = ap.parse_args()
    (args.outdir / "hostile").mkdir(parents=True, exist_ok=True)
    (args.outdir / "valid").mkdir(parents=True, exist_ok=True)
    hostile, valid = hostile_files(), valid_files()
    with open(args.outdir / "hostile" / "expected.tsv", "w") as manifest:
        for name, (data, status, msg) in hostile.items():
            (args.outdir / "hostile" / f"{name}.gguf").write_bytes(data)
            manifest.write(f"{name}.gguf\t{status}\t{msg}\n")
    for name, data in valid.items():
        (args.outdir / "valid" / f"{name}.gguf").write_bytes(data)
    print(f"wrote {len(hostile)} hostile and {len(valid)} valid GGUF files to {args.outdir}", file=sys.stderr)
    if args.check_cli:
        return check_cli(args.check_cli, args.outdir, hostile, valid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
