#!/usr/bin/env python3
"""Generates RenkeiEncoding's code tables and its tests' expectations from Python's codecs.

    python3 Tools/encoding-tables/generate.py          # from the repository root

Python's `cp932`, `shift_jis`, `euc_jp` and `shift_jis_2004` codecs are the source. Where Renkei
deliberately departs from them (each departure is listed in DEPARTURES below and in
docs/encodings.md), the departure is applied here, once, so the Swift code and the tests'
expectations come from the same rules. Every result is then compared with glibc's iconv (CP932,
SHIFT_JIS, EUC-JP) over the whole code space; the differences must be exactly the known ones
(KNOWN_ICONV_DIFFERENCES), or the script stops: a new Python or glibc that changes a mapping
is noticed, not copied silently.

Writes:
    Sources/RenkeiEncoding/Tables/*.swift                  tables, as base64 text (the compiler is
                                                          slow on large array literals)
    Tests/RenkeiEncodingTests/Expected/Expectations.swift  digests and lists the tests compare with
"""

import base64
import ctypes
import ctypes.util
import os
import sys
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TABLES = os.path.join(ROOT, "Sources", "RenkeiEncoding", "Tables")
EXPECTED = os.path.join(ROOT, "Tests", "RenkeiEncodingTests", "Expected")

# Lead bytes of the Shift_JIS family, in table order, and the trail range every table row covers.
SJIS_LEADS = list(range(0x81, 0xA0)) + list(range(0xE0, 0xFD))
TRAIL_FIRST, TRAIL_COUNT = 0x40, 0xFD - 0x40  # 0x40...0xFC; 0x7F is never a trail and stays 0

# Where Renkei does not do what Python does, and why (repeated in docs/encodings.md).
DEPARTURES = """
cp932 decode: 0x80, 0xA0, 0xFD, 0xFE, 0xFF are invalid (Python: U+0080, U+F8F0..U+F8F3, Apple's
  and Microsoft's best-fit leftovers; no data-link file means them, iconv rejects them too).
cp932 encode: a character Microsoft's table has twice as an NEC-selected IBM extension (0xED/0xEE)
  and an IBM extension (0xFA-0xFC) is written in the IBM form, as Windows and iconv do (Python
  writes the NEC-selected form). U+0080 and U+F8F0..U+F8F3 are not written (see decode).
shift_jis and euc-jp encode: U+00A5 YEN SIGN and U+203E OVERLINE are not written (Python writes
  0x5C and 0x7E, which Renkei, like Python, reads back as REVERSE SOLIDUS and TILDE: the character
  would change). The six code points by which CP932 names a JIS X 0208 character differently
  (U+FF5E U+2225 U+FF0D U+FFE0 U+FFE1 U+FFE2) are written at that JIS X 0208 position, as
  Python's cp932 writes the JIS forms (U+301C ...) at theirs: the position is the character.
"""


# --- glibc iconv, called directly (one process per sequence would take hours) ------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.iconv_open.restype = ctypes.c_void_p
_libc.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_libc.iconv.restype = ctypes.c_size_t
_libc.iconv.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)] * 2


class Iconv:
    def __init__(self, to, frm):
        self.handle = _libc.iconv_open(to.encode(), frm.encode())
        if self.handle in (None, ctypes.c_void_p(-1).value):
            sys.exit(f"iconv cannot convert {frm} to {to}")

    def __call__(self, data):
        """The whole of `data` converted, or None when iconv refuses any of it."""
        failed = ctypes.c_size_t(-1).value
        _libc.iconv(self.handle, None, None, None, None)
        source = ctypes.create_string_buffer(data, len(data))
        target = ctypes.create_string_buffer(len(data) * 8 + 16)
        inp, inleft = ctypes.c_char_p(ctypes.addressof(source)), ctypes.c_size_t(len(data))
        outp, outleft = ctypes.c_char_p(ctypes.addressof(target)), ctypes.c_size_t(len(target))
        if _libc.iconv(self.handle, ctypes.byref(inp), ctypes.byref(inleft), ctypes.byref(outp), ctypes.byref(outleft)) == failed or inleft.value:
            return None
        if _libc.iconv(self.handle, None, None, ctypes.byref(outp), ctypes.byref(outleft)) == failed:
            return None
        return target.raw[: len(target) - outleft.value]


# --- what Renkei reads and writes ----------------------------------------------------------------

def python_decode(codec, seq):
    try:
        text = seq.decode(codec)
    except UnicodeDecodeError:
        return None
    return ord(text) if len(text) == 1 else None


def sequences(encoding):
    """Every byte sequence that could be one character, shortest first within each lead byte."""
    for lead in range(256):
        yield lead, bytes([lead])
        if encoding == "euc-jp" and lead == 0x8F:
            for second in range(0xA1, 0xFF):
                for third in range(0xA1, 0xFF):
                    yield lead, bytes([lead, second, third])
        else:
            for trail in range(256):
                yield lead, bytes([lead, trail])


CODEC = {"cp932": "cp932", "shift_jis": "shift_jis", "euc-jp": "euc_jp"}


def build_decoding(encoding):
    """{sequence: scalar} exactly as Renkei reads `encoding`: one character per sequence."""
    table = {}
    singles = set()
    for lead, seq in sequences(encoding):
        if len(seq) > 1 and lead in singles:
            continue
        scalar = python_decode(CODEC[encoding], seq)
        if scalar is None:
            continue
        if encoding == "cp932" and seq in (b"\x80", b"\xa0", b"\xfd", b"\xfe", b"\xff"):
            continue
        table[seq] = scalar
        if len(seq) == 1:
            singles.add(lead)
    return table


def alternates(cp932_decoding, sjis_decoding):
    """{CP932's code point: the JIS table's} for the JIS X 0208 positions the two name differently."""
    return {
        cp932_decoding[seq]: scalar
        for seq, scalar in sjis_decoding.items()
        if len(seq) == 2 and cp932_decoding[seq] != scalar
    }


def build_encoding(encoding, decoding, cp932_decoding, sjis_decoding):
    """{scalar: sequence} exactly as Renkei writes `encoding`."""
    table = {}
    for scalar in list(range(0xD800)) + list(range(0xE000, 0x110000)):
        try:
            table[scalar] = chr(scalar).encode(CODEC[encoding])
        except UnicodeEncodeError:
            pass
    other_names = alternates(cp932_decoding, sjis_decoding)
    if encoding == "cp932":
        for scalar in (0x0080, 0xF8F0, 0xF8F1, 0xF8F2, 0xF8F3):
            del table[scalar]
        for scalar, seq in table.items():
            if seq[0] in (0xED, 0xEE):
                ibm = sorted(s for s, u in decoding.items() if u == scalar and s[0] >= 0xFA)
                if ibm:
                    table[scalar] = ibm[0]
    else:
        del table[0xA5], table[0x203E]
        for cp932_scalar, jis_scalar in other_names.items():
            assert cp932_scalar not in table, hex(cp932_scalar)
            table[cp932_scalar] = table[jis_scalar]
    # What is written reads back as the same scalar, or as the other name of the same position.
    for scalar, seq in table.items():
        back = decoding[seq]
        assert back == scalar or other_names.get(back) == scalar or other_names.get(scalar) == back, (encoding, hex(scalar))
    return table


# --- the character repertoires of `characters:` checks -------------------------------------------

TEXT_CONTROLS = {0x09, 0x0A, 0x0D}
PRINTABLE_ASCII = set(range(0x20, 0x7F))


def build_repertoires(cp932_encoding, sjis_encoding):
    jisx0208 = PRINTABLE_ASCII | TEXT_CONTROLS | {u for u, s in sjis_encoding.items() if len(s) == 2}
    cp932 = PRINTABLE_ASCII | TEXT_CONTROLS
    cp932 |= {u for u, s in cp932_encoding.items() if len(s) == 2 and not 0xE000 <= u <= 0xF8FF}  # not 外字
    cp932 |= {u for u, s in cp932_encoding.items() if len(s) == 1 and 0xA1 <= s[0] <= 0xDF}  # half-width kana
    jisx0213 = set(jisx0208)
    combining = []
    for lead in SJIS_LEADS:
        for trail in range(TRAIL_FIRST, TRAIL_FIRST + TRAIL_COUNT):
            try:
                text = bytes([lead, trail]).decode("shift_jis_2004")
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                jisx0213.add(ord(text))
            else:
                combining.append(tuple(ord(c) for c in text))
    # Scalar by scalar, a sequence's parts must be in the set; all but U+309A are characters of
    # their own already, and the Swift side checks U+309A's base (jisx0213SemiVoicedBases).
    loose = {u for sequence in combining for u in sequence if u not in jisx0213}
    assert loose == {0x309A}, loose
    jisx0213 |= loose
    return {"jisx0208": jisx0208, "cp932": cp932, "jisx0213": jisx0213}, combining


# --- comparison with glibc iconv -----------------------------------------------------------------

ICONV_NAME = {"cp932": "CP932", "shift_jis": "SHIFT_JIS", "euc-jp": "EUC-JP"}

# (direction, encoding) -> {key: (renkei, iconv)}; hex bytes or U+XXXX, None for "refused".
KNOWN_ICONV_DIFFERENCES = {
    ("decode", "cp932"): {},
    ("decode", "shift_jis"): {"5c": ("U+005C", "U+00A5"), "7e": ("U+007E", "U+203E")},
    ("decode", "euc-jp"): dict(
        [("%02x" % b, (None, "U+%04X" % b)) for b in list(range(0x80, 0x8E)) + list(range(0x90, 0xA0))]
        + [("8fa2b7", ("U+007E", "U+FF5E"))]
    ),
    ("encode", "cp932"): {"U+00A5": (None, "5c"), "U+203E": (None, "7e"), "U+2014": (None, "815c")},
    ("encode", "shift_jis"): {
        "U+00A5": (None, "5c"), "U+203E": (None, "7e"),
        "U+FF5E": ("8160", None), "U+2225": ("8161", None), "U+FF0D": ("817c", None),
    },
    ("encode", "euc-jp"): dict(
        [("U+%04X" % b, (None, "%02x" % b)) for b in list(range(0x80, 0x8E)) + list(range(0x90, 0xA0))]
        + [("U+00A5", (None, "5c")), ("U+203E", (None, "7e")), ("U+FF5E", ("a1c1", "8fa2b7")),
           ("U+2225", ("a1c2", None)), ("U+FF0D", ("a1dd", None)), ("U+FFE0", ("a1f1", None)),
           ("U+FFE1", ("a1f2", None)), ("U+FFE2", ("a2cc", None))]
    ),
}


def compare_with_iconv(encoding, decoding, encoding_table):
    to_unicode = Iconv("UTF-32BE", ICONV_NAME[encoding])
    from_unicode = Iconv(ICONV_NAME[encoding], "UTF-32BE")
    differences = {}
    singles = set()
    for lead, seq in sequences(encoding):
        if len(seq) > 1 and lead in singles:
            continue
        out = to_unicode(seq)
        theirs = "U+%04X" % int.from_bytes(out, "big") if out is not None and len(out) == 4 else None
        if theirs is not None and len(seq) == 1:
            singles.add(lead)
        ours = "U+%04X" % decoding[seq] if seq in decoding else None
        if ours != theirs:
            differences[seq.hex()] = (ours, theirs)
    check("decode", encoding, differences)
    differences = {}
    for scalar in list(range(0xD800)) + list(range(0xE000, 0x10000)) + [0x20BB7, 0xE0100]:
        out = from_unicode(scalar.to_bytes(4, "big"))
        theirs = out.hex() if out is not None else None
        ours = encoding_table[scalar].hex() if scalar in encoding_table else None
        if ours != theirs:
            differences["U+%04X" % scalar] = (ours, theirs)
    check("encode", encoding, differences)


def check(direction, encoding, differences):
    known = KNOWN_ICONV_DIFFERENCES[(direction, encoding)]
    if differences != known:
        new = {k: v for k, v in differences.items() if known.get(k) != v}
        gone = {k: v for k, v in known.items() if differences.get(k) != v}
        sys.exit(f"{direction} {encoding}: iconv differs in ways not documented:\n  new: {new}\n  no longer: {gone}")
    print(f"{direction:6} {encoding:9}: {len(differences)} known differences from iconv {ICONV_NAME[encoding]}")


# --- Swift output --------------------------------------------------------------------------------

def base64_literal(data, indent="        "):
    text = base64.b64encode(data).decode()
    lines = [text[i : i + 100] for i in range(0, len(text), 100)]
    return '"""\n' + "\n".join(indent + line for line in lines) + "\n" + indent + '"""'


def uint16_table(values):
    return b"".join(v.to_bytes(2, "little") for v in values)


HEADER = """// Generated by Tools/encoding-tables/generate.py from Python {version}'s codecs. Do not edit.
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(path, ROOT))


def sjis_grid(decoding):
    values = []
    for lead in SJIS_LEADS:
        for trail in range(TRAIL_FIRST, TRAIL_FIRST + TRAIL_COUNT):
            scalar = decoding.get(bytes([lead, trail]), 0)
            assert scalar <= 0xFFFF
            values.append(scalar)
    return uint16_table(values)


def euc_grid(decoding, prefix):
    values = []
    for row in range(0xA1, 0xFF):
        for cell in range(0xA1, 0xFF):
            scalar = decoding.get(prefix + bytes([row, cell]), 0)
            assert scalar <= 0xFFFF
            values.append(scalar)
    return uint16_table(values)


def check_single_bytes(encoding, decoding):
    """The single bytes the Swift code decodes by rule rather than by table."""
    for byte in range(256):
        expected = None
        if byte < 0x80:
            expected = byte
        elif 0xA1 <= byte <= 0xDF and encoding != "euc-jp":
            expected = 0xFF61 + byte - 0xA1
        assert decoding.get(bytes([byte])) == expected, (encoding, hex(byte))
    if encoding == "euc-jp":
        for byte in range(256):
            expected = 0xFF61 + byte - 0xA1 if 0xA1 <= byte <= 0xDF else None
            assert decoding.get(bytes([0x8E, byte])) == expected, hex(byte)


def write_tables(decodings, x0213_bitset, x0213_supplementary, combining):
    version = sys.version.split()[0]
    header = HEADER.format(version=version)
    write(os.path.join(TABLES, "CP932Table.swift"), header + f"""
extension CodeTable {{
    /// Windows-31J (Microsoft's CP932): a UInt16 (little-endian) per lead byte 0x81-0x9F, 0xE0-0xFC
    /// and trail byte 0x40-0xFC; 0 where no character is.
    static let cp932Base64 = {base64_literal(sjis_grid(decodings["cp932"]))}
}}
""")
    write(os.path.join(TABLES, "ShiftJISTable.swift"), header + f"""
extension CodeTable {{
    /// Shift_JIS with the JIS X 0208 table, laid out as `cp932Base64`.
    static let shiftJISBase64 = {base64_literal(sjis_grid(decodings["shift_jis"]))}
}}
""")
    x0208 = base64_literal(euc_grid(decodings["euc-jp"], b""))
    x0212 = base64_literal(euc_grid(decodings["euc-jp"], b"\x8f"))
    write(os.path.join(TABLES, "EUCJPTable.swift"), header + f"""
extension CodeTable {{
    /// EUC-JP's JIS X 0208 plane: a UInt16 (little-endian) per row 0xA1-0xFE and cell 0xA1-0xFE.
    static let eucJPX0208Base64 = {x0208}

    /// EUC-JP's JIS X 0212 plane (after 0x8F), laid out as `eucJPX0208Base64`.
    static let eucJPX0212Base64 = {x0212}
}}
""")
    bases = ", ".join("0x%04X" % base for base, mark in combining if mark == 0x309A)
    write(os.path.join(TABLES, "JISX0213Characters.swift"), header + f"""
extension CharacterRepertoire {{
    /// JIS X 0213:2004's characters in the Basic Multilingual Plane (`shift_jis_2004` decodes each to
    /// one scalar, or is a part of a combining sequence), with `jisx0208`: a bit per code point.
    static let jisx0213BMPBase64 = {base64_literal(x0213_bitset)}

    /// Its characters beyond the BMP: hexadecimal scalar values, 5 digits each, ascending.
    static let jisx0213SupplementaryHex = "{"".join("%05X" % u for u in x0213_supplementary)}"

    /// The kana that JIS X 0213 writes with U+309A COMBINING KATAKANA-HIRAGANA SEMI-VOICED SOUND
    /// MARK (か゚ and friends): the only bases after which it is a JIS X 0213 character.
    static let jisx0213SemiVoicedBases: Set<UInt32> = [{bases}]
}}
""")


# --- the tests' expectations ---------------------------------------------------------------------

def fnv1a(data, digest=0xCBF29CE484222325):
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return digest


def decode_digests(decoding):
    """Per lead byte: (count, FNV-1a 64 over sequence bytes + scalar as 4 bytes big-endian)."""
    digests = {}
    for seq in sorted(decoding, key=lambda s: (s[0], len(s), s)):
        count, digest = digests.get(seq[0], (0, 0xCBF29CE484222325))
        digests[seq[0]] = (count + 1, fnv1a(seq + decoding[seq].to_bytes(4, "big"), digest))
    return digests


def scalar_digests(scalars, payload=lambda u: b""):
    """Per block of 0x1000 scalars: (count, FNV-1a 64 over scalar as 4 bytes + payload)."""
    digests = {}
    for scalar in sorted(scalars):
        count, digest = digests.get(scalar >> 12, (0, 0xCBF29CE484222325))
        digests[scalar >> 12] = (count + 1, fnv1a(scalar.to_bytes(4, "big") + payload(scalar), digest))
    return digests


def swift_digests(digests):
    return "[" + ", ".join("0x%X: (%d, 0x%016X)" % (k, c, d) for k, (c, d) in sorted(digests.items())) + "]"


def ranges(codes):
    """Sorted ints as "8740-875D 875F ..." (consecutive runs joined)."""
    out = []
    codes = sorted(codes)
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append("%04X" % codes[i] if i == j else "%04X-%04X" % (codes[i], codes[j]))
        i = j + 1
    return " ".join(out)


def write_expectations(decodings, encodings, repertoires):
    version = sys.version.split()[0]
    names = {"cp932": "cp932", "shift_jis": "shiftJIS", "euc-jp": "eucJP"}
    lines = [HEADER.format(version=version), "// What Renkei must read and write, computed independently of the module's tables.", "enum Expected {"]
    for encoding, name in names.items():
        decoding, encoding_table = decodings[encoding], encodings[encoding]
        lines.append(f"    /// `{encoding}` read, per lead byte: (sequences, FNV-1a 64 of each sequence + its scalar).")
        lines.append(f"    static let {name}Decoding: [UInt8: (Int, UInt64)] = {swift_digests(decode_digests(decoding))}")
        lines.append(f"    /// `{encoding}` written, per block of 0x1000 scalars: (scalars, FNV-1a 64 of each scalar + its bytes).")
        lines.append(f"    static let {name}Encoding: [UInt32: (Int, UInt64)] = {swift_digests(scalar_digests(encoding_table, lambda u: bytes([len(encoding_table[u])]) + encoding_table[u]))}")
        changed = sorted((seq, encoding_table[u]) for seq, u in decoding.items() if encoding_table.get(u) != seq)
        lines.append(f"    /// `{encoding}` sequences that read and written again come back as other bytes (sequence, bytes).")
        lines.append(f'    static let {name}RoundTripChanges = "{" ".join(a.hex().upper() + ">" + b.hex().upper() for a, b in changed)}"')
    cp932, sjis = decodings["cp932"], decodings["shift_jis"]
    differing = [s for s in set(cp932) | set(sjis) if cp932.get(s) != sjis.get(s)]
    only = [int.from_bytes(s, "big") for s in differing if s not in sjis]
    assert not [s for s in differing if s not in cp932]
    both = sorted(s for s in differing if s in sjis)
    lines.append("    /// Sequences `cp932` reads and `shift_jis` does not (hexadecimal, runs joined).")
    lines.append(f'    static let onlyCP932 = "{ranges(only)}"')
    lines.append("    /// Sequences both read, as different characters: sequence:cp932:shift_jis.")
    lines.append(f'    static let cp932ShiftJISDifferent = "{" ".join("%s:%04X:%04X" % (s.hex().upper(), cp932[s], sjis[s]) for s in both)}"')
    for name, members in repertoires.items():
        lines.append(f"    /// The `{name}` repertoire, per block of 0x1000 scalars: (members, FNV-1a 64 of each scalar).")
        lines.append(f"    static let {name}Repertoire: [UInt32: (Int, UInt64)] = {swift_digests(scalar_digests(members))}")
    lines.append("}")
    write(os.path.join(EXPECTED, "Expectations.swift"), "\n".join(lines) + "\n")


def main():
    decodings = {e: build_decoding(e) for e in ("cp932", "shift_jis", "euc-jp")}
    for encoding, decoding in decodings.items():
        check_single_bytes(encoding, decoding)
    encodings = {e: build_encoding(e, decodings[e], decodings["cp932"], decodings["shift_jis"]) for e in decodings}
    for encoding in decodings:
        compare_with_iconv(encoding, decodings[encoding], encodings[encoding])
    repertoires, combining = build_repertoires(encodings["cp932"], encodings["shift_jis"])
    x0213 = repertoires["jisx0213"]
    bitset = bytearray(8192)
    for scalar in x0213:
        if scalar <= 0xFFFF:
            bitset[scalar >> 3] |= 1 << (scalar & 7)
    write_tables(decodings, bytes(bitset), sorted(u for u in x0213 if u > 0xFFFF), combining)
    write_expectations(decodings, encodings, repertoires)
    for name, members in repertoires.items():
        print(f"repertoire {name}: {len(members)} scalars")


if __name__ == "__main__":
    main()
