"""Progress of a sysroot build on stderr: rich when a terminal, plain lines otherwise.

Only the build path imports this (rich is too heavy for scone-gcc's compile path).
"""

import sys
import time


class Progress:
    """Phases with an optional counted step (``advance``); a context manager."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._rich = None
        self._task = None
        self._count = 0
        self._total = None
        self._last_pct = -1

    def __enter__(self):
        if self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, Progress as RichProgress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)
            self._rich = RichProgress(
                SpinnerColumn(), TextColumn("[bold]scone[/] {task.description}"),
                BarColumn(), TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=True)
            self._rich.__enter__()
            self._rich.console.print("[bold]scone[/] building the sysroot "
                                     "(once; later runs use the cache)")
        else:
            self._line("building the sysroot (once; later runs use the cache)")
        return self

    def __exit__(self, *exc):
        if self._rich is not None:
            self._rich.__exit__(*exc)
        return False

    def _line(self, text: str):
        self.stream.write(f"scone: {text}\n")
        self.stream.flush()

    def phase(self, description: str, total: int | None = None):
        self._count, self._total, self._last_pct = 0, total, -1
        if self._rich is not None:
            if self._task is not None:
                self._rich.remove_task(self._task)
            self._task = self._rich.add_task(description, total=total,
                                             count=f"0/{total}" if total else "")
        else:
            self._line(description + (f" ({total} objects)" if total else ""))

    def advance(self):
        self._count += 1
        if self._rich is not None and self._task is not None:
            total = self._total
            if total is not None and self._count > total:
                total = self._total = self._count
            self._rich.update(self._task, completed=self._count, total=total,
                              count=f"{self._count}/{total}")
        elif self._total:
            pct = min(100, self._count * 100 // self._total) // 25 * 25
            if pct > self._last_pct and pct > 0:
                self._last_pct = pct
                self._line(f"  {pct}%")

    def done(self, text: str):
        elapsed = time.monotonic() - self.start
        if self._rich is not None:
            self._rich.console.print(f"[bold]scone[/] {text} [dim]({elapsed:.0f}s)[/]")
        else:
            self._line(f"{text} ({elapsed:.0f}s)")
