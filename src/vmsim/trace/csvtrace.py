"""CSV traces as libCacheSim reads them: one request a row, columns chosen by the user.

Options (given as a format spec, `--format csv:id=2,size=3,op=4,header=yes`):
- `id`: the column of the object id or address: a 1-based number or a header name
  (default: the header's `obj_id`, `id`, `key`, `addr` or `address`, else column 1);
- `size`, `op`: optional columns of the object size and the operation;
- `header`: `yes`, `no` or `auto` (default: a first row whose id is not a number);
- `sep`: `comma` (default), `tab`, `semicolon`, `space`, `pipe`;
- `ids`: `objects` (default: each id is one object, one page whatever the page size;
  ids that are not integers are hashed, as libCacheSim does with string ids) or
  `addresses` (integers, decimal or 0x hex, are byte addresses: pages by page size).
Operations read/get/gets/r/l/load are loads, write/set/w/s/store/put/add/replace/cas/
append/prepend/update/m stores; any other is a malformed row. Parsing uses pyarrow's
streaming CSV reader, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.errors import ConfigError
from vmsim.kinds import LOAD, STORE
from vmsim.trace.base import TraceChunk, TraceReader, register_format
from vmsim.trace.compress import open_stream
from vmsim.trace.inputs import Input

SEPARATORS = {"comma": ",", "tab": "\t", "semicolon": ";", "space": " ", "pipe": "|"}
ID_NAMES = ("obj_id", "id", "key", "addr", "address", "page")
OPS = {
    **dict.fromkeys(("read", "get", "gets", "r", "l", "load"), LOAD),
    **dict.fromkeys(
        ("write", "set", "w", "s", "store", "put", "add", "replace", "cas", "append",
         "prepend", "update", "m"),
        STORE,
    ),
}  # fmt: skip


@register_format("csv", "CSV rows: id/address column, optional size and op columns (csv:id=N,...)")
class CsvReader(TraceReader):
    """Reader of CSV request traces through pyarrow.csv."""

    extensions = (".csv",)
    name_marks = (".csv",)

    def __init__(self, path: str | Path | Input, **options: Any) -> None:
        base = {k: options.pop(k) for k in ("skip_bad", "chunk_refs") if k in options}
        super().__init__(path, **base)
        unknown = set(options) - {"id", "size", "op", "header", "sep", "ids"}
        if unknown:
            raise ConfigError(
                "format", f"csv:{','.join(sorted(unknown))}", "id, size, op, header, sep, ids"
            )
        sep = str(options.get("sep", "comma"))
        self.sep = SEPARATORS.get(sep, sep)
        if len(self.sep) != 1:
            raise ConfigError(
                "format", f"csv:sep={sep}", f"one of {', '.join(SEPARATORS)} or one character"
            )
        ids = str(options.get("ids", "objects"))
        if ids not in ("objects", "addresses"):
            raise ConfigError("format", f"csv:ids={ids}", "objects or addresses")
        self.object_ids = ids == "objects"  # type: ignore[misc]
        self.header = str(options.get("header", "auto")).lower()
        if self.header not in ("yes", "no", "auto", "1", "0", "true", "false"):
            raise ConfigError("format", f"csv:header={self.header}", "yes, no or auto")
        self.wanted: dict[str, str] = {
            k: str(options[k]) for k in ("id", "size", "op") if k in options
        }
        self.has_sizes = "size" in self.wanted

    def _first_rows(self) -> list[list[str]]:
        """The first two rows, split on the separator (for the header guess)."""
        stream, _ = open_stream(self.input)
        try:
            head = stream.read(1 << 16)
        finally:
            stream.close()
        rows = head.decode("utf-8", "replace").splitlines()[:2]
        return [r.split(self.sep) for r in rows]

    def _has_header(self, rows: list[list[str]]) -> bool:
        """Whether the first row is a header (auto: its id field is not a number)."""
        if self.header in ("yes", "1", "true"):
            return True
        if self.header in ("no", "0", "false") or not rows:
            return False
        col = self.wanted.get("id", "1")
        if not col.isdigit():
            return True
        i = int(col) - 1
        return i < len(rows[0]) and _as_int(rows[0][i].strip()) is None

    def _column(self, key: str, names: list[str]) -> int | None:
        """The 0-based index of option `key`'s column, or None when not asked for."""
        spec = self.wanted.get(key)
        if spec is None:
            if key != "id":
                return None
            lower = [n.strip().lower() for n in names]
            return next((lower.index(n) for n in ID_NAMES if n in lower), 0)
        if spec.isdigit() and 1 <= int(spec) <= len(names):
            return int(spec) - 1
        if spec in names:
            return names.index(spec)
        raise self.error(
            1, self.sep.join(names), f"no column {spec!r} for {key}= (columns: {len(names)})"
        )

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield the rows as references, block by block."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        rows = self._first_rows()
        if not rows:
            return
        header = self._has_header(rows)
        names = (
            [s.strip() for s in rows[0]] if header else [str(i + 1) for i in range(len(rows[0]))]
        )
        cols = {k: self._column(k, names) for k in ("id", "size", "op")}
        stream, _ = open_stream(self.input)
        opts = pcsv.ReadOptions(
            column_names=[f"c{i}" for i in range(len(names))],
            skip_rows=1 if header else 0,
            block_size=1 << 22,
        )
        types = {f"c{cols['id']}": pa.string()}
        if cols["op"] is not None:
            types[f"c{cols['op']}"] = pa.string()
        conv = pcsv.ConvertOptions(
            column_types=types,
            include_columns=[f"c{i}" for i in cols.values() if i is not None],
        )
        line = 1 + int(header)
        try:
            try:
                reader = pcsv.open_csv(
                    stream, read_options=opts, parse_options=pcsv.ParseOptions(delimiter=self.sep),
                    convert_options=conv,
                )  # fmt: skip
                for batch in iter(reader.read_next_batch, None):
                    chunk = self._convert(batch, cols, line)
                    line += batch.num_rows
                    self.stats.lines = line - 1
                    yield chunk
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise self._parse_error(len(names), str(exc)) from None
        finally:
            stream.close()

    def _parse_error(self, columns: int, message: str) -> Exception:
        """The TraceFormatError for a row pyarrow could not parse: find its line again."""
        import csv
        import io

        stream, _ = open_stream(self.input)
        try:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            for number, row in enumerate(csv.reader(text, delimiter=self.sep), 1):
                if row and len(row) != columns:
                    return self.error(
                        number, self.sep.join(row), f"{len(row)} columns, not {columns}"
                    )
        finally:
            stream.close()
        return self.error(0, "", f"CSV: {message.splitlines()[0]}")

    def _convert(self, batch: Any, cols: dict[str, int | None], line: int) -> TraceChunk:
        """One record batch as a TraceChunk (ids hashed or parsed, ops mapped)."""
        import pandas as pd

        n = batch.num_rows
        kinds = np.full(n, LOAD, np.uint8)
        if cols["op"] is not None:
            ops = pd.Series(batch.column(f"c{cols['op']}").to_pylist(), dtype=object)
            mapped = ops.astype(str).str.strip().str.lower().map(OPS)
            if mapped.isna().any():
                bad = int(np.argmax(mapped.isna().to_numpy()))
                raise self.error(
                    line + bad, str(ops[bad]), "unknown operation (read/get or write/set)"
                )
            kinds = mapped.to_numpy(dtype=np.uint8)
        sizes = None
        if cols["size"] is not None:
            s = batch.column(f"c{cols['size']}").to_numpy(zero_copy_only=False)
            try:
                sizes = np.asarray(s, dtype=np.int64)
            except (TypeError, ValueError):
                raise self.error(line, "", "sizes must be integers") from None
            if len(sizes) and sizes.min() < 0:
                bad = int(np.argmax(sizes < 0))
                raise self.error(line + bad, str(sizes[bad]), "negative size")
            sizes = sizes.astype(np.uint32)
        return TraceChunk(self._ids(batch.column(f"c{cols['id']}"), line), kinds, sizes)

    def _ids(self, column: Any, line: int) -> np.ndarray:
        """uint64 ids: decimal integers at C speed; else 0x hex parsed, other strings hashed
        (objects) or an error (addresses)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return np.asarray(
                pc.cast(column, pa.uint64()).to_numpy(zero_copy_only=False), np.uint64
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        values = np.asarray(column.to_pylist(), dtype=object)
        out = np.empty(len(values), np.uint64)
        hashed: list[int] = []
        for i, v in enumerate(values):
            n = _as_int(str(v).strip())
            if n is None:
                if not self.object_ids:
                    raise self.error(line + i, str(v), "not an address (decimal or 0x hex)")
                hashed.append(i)
            else:
                out[i] = n
        if hashed:
            import pandas as pd

            out[hashed] = pd.util.hash_array(values[hashed].astype(object))
        return out


def _as_int(s: str) -> int | None:
    """An unsigned 64-bit integer in decimal or 0x hex, or None."""
    try:
        n = int(s, 16) if s[:2].lower() == "0x" else int(s, 10)
    except ValueError:
        return None
    return n if 0 <= n < 1 << 64 else None
