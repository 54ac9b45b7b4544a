"""The farm's journal (lib/include/rankpool/farm/journal.hpp), read independently of the C++
code, for the test drivers: "rankpool-journal 2\\n", then records
[u32 body length][u32 CRC-32 of the body][u32 CRC-32 of the previous 8 bytes][body]; the first
is the key, each other one a task ('T', u32 index, u8 ok, ...). Python stdlib only."""
import struct
import zlib

MAGIC = b"rankpool-journal 2\n"


def journal_records(path, strict=True, report=None):
    """(index, ok) of every task record, in file order. Reading stops at a record that does not
    check: the torn tail a kill leaves. With `strict`, `report(message)` is called when such a
    record is followed by more data (damage, not a torn tail), or a record is not a task's.
    A file that is not a journal gives [] (and a report); an empty file, or one holding only a
    prefix of the magic line, gives [] without one."""
    report = report or (lambda message: None)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < len(MAGIC) and MAGIC.startswith(data):
        # Created but its start not yet written (a reader polling a starting run sees this), or
        # torn there: the C++ code starts such a file afresh, so it holds no task yet.
        return []
    if not data.startswith(MAGIC):
        report(f"{path} is not a rankpool journal (starts {data[:24]!r})")
        return []
    pos, out, first = len(MAGIC), [], True
    while pos + 12 <= len(data):
        length, crc, hcrc = struct.unpack_from("<III", data, pos)
        if zlib.crc32(data[pos: pos + 8]) & 0xFFFFFFFF != hcrc:
            if strict:
                report(f"damaged record header at byte {pos} of {path}")
            break
        body = data[pos + 12: pos + 12 + length]
        if len(body) < length or zlib.crc32(body) & 0xFFFFFFFF != crc:
            if strict and pos + 12 + length < len(data):
                report(f"damaged record at byte {pos} before the end of {path}")
            break
        if not first:
            if strict and body[:1] != b"T":
                report(f"record at byte {pos} of {path} is not a task record")
            index, ok = struct.unpack_from("<IB", body, 1)
            out.append((index, ok))
        first = False
        pos += 12 + length
    return out
