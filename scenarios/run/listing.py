"""Tables for the terminal that never cut a name, a policy set or a header.

rich fits a table that is too wide by narrowing its columns, and a narrowed cell that may not wrap ends in "…"
(`adaptive-concurr…`). A Listing picks its layout when it is drawn, from the width it is given: columns, when every
name and value fits whole beside prose columns at least TEXT_WIDTH wide; otherwise one block per row, the row's
name on a line of its own, its short values on the next and each of its prose cells on a line of its own (as
`header: value`), wrapped at the full width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

# Narrower than this, a column of prose reads a word or two per line: the rows read better as blocks.
TEXT_WIDTH = 20
# What each column costs besides its text: a space either side and a border (plus one border for the table).
COLUMN_EDGES = 3


@dataclass(frozen=True)
class Field:
    """A column. `name` and `value` cells stay whole on one line (identifiers, numbers with units); `text` wraps."""

    header: str
    kind: Literal["name", "value", "text"] = "value"


class Listing:
    """Rows under a title, the first cell of each naming it; printed with rich like a Table."""

    def __init__(self, title: str, fields: Sequence[Field]) -> None:
        self.title = title
        self.fields = tuple(fields)
        self.rows: list[tuple[Text, ...]] = []

    def add_row(self, *cells: str | Text) -> None:
        """One cell per field; a str is shown as it is (no rich markup), a Text keeps its style."""
        self.rows.append(tuple(Text(cell) if isinstance(cell, str) else cell for cell in cells))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        yield self._blocks() if widths is None else self._columns(widths, options.max_width)

    def widths(self, width: int) -> list[int] | None:
        """Each column's width when the rows fit `width` as columns; None when they do not."""
        natural, least = [], []
        for i, field in enumerate(self.fields):
            lines = [line for text in (field.header, *(row[i].plain for row in self.rows)) for line in text.split("\n")]
            longest = max(cell_len(line) for line in lines)
            natural.append(longest)
            if field.kind == "text":
                word = max((cell_len(word) for line in lines for word in line.split()), default=0)
                least.append(max(word, min(TEXT_WIDTH, longest)))
            else:
                least.append(longest)
        spare = width - 1 - COLUMN_EDGES * len(self.fields) - sum(least)
        if spare < 0:
            return None
        wanted = [most - fewest for most, fewest in zip(natural, least, strict=True)]  # only prose wants more
        share = min(1.0, spare / sum(wanted)) if any(wanted) else 0.0
        return [fewest + int(more * share) for fewest, more in zip(least, wanted, strict=True)]

    def _columns(self, widths: list[int], width: int) -> Table:
        table = Table(title=self.title, title_justify="left", min_width=min(cell_len(self.title), width))
        for field, column_width in zip(self.fields, widths, strict=True):
            table.add_column(field.header, width=column_width, no_wrap=field.kind != "text", overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table

    def _blocks(self) -> Table:
        table = Table(title=self.title, title_justify="left", show_header=False, show_lines=True)
        table.add_column(overflow="fold")
        for name, *cells in self.rows:
            block = name.copy()
            block.stylize("bold")
            shown = [(field, cell) for field, cell in zip(self.fields[1:], cells, strict=True) if cell.plain]
            short = [(field, cell) for field, cell in shown if field.kind != "text"]
            for i, (field, cell) in enumerate(short):  # the short ones share a line
                block.append(" · " if i else "\n")
                block.append(f"{field.header}: ", style="dim")
                block.append_text(cell)
            for field, cell in shown:
                if field.kind == "text":
                    block.append(f"\n{field.header}: ", style="dim")
                    block.append_text(cell)
            table.add_row(block)
        return table
