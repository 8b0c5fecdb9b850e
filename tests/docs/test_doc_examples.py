"""Every ```python block of the documentation site and of README.md runs.

The blocks of one page run in order in one shared namespace (a later block may use the names of
an earlier one), with the working directory set to a fresh temporary folder, so examples may write
files such as ``sample.glb`` or ``my_model/``. A block that cannot run in a test (it needs a user's
dataset, the network, a GPU or minutes of compute) is preceded by the line
``<!-- docs-test: skip -->`` right before its fence; it must still compile.

Blocks are compiled with their Markdown file as the file name and with their real line numbers, so
a traceback points at the failing line of the page.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "<!-- docs-test: skip -->"
PYTHON_LANGUAGES = {"python", "py"}
# A fence line: indentation, three or more backticks or tildes, then the info string.
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
IMPORTS_PYTORCH3D = re.compile(r"^\s*(from|import)\s+pytorch3d\b", re.MULTILINE)
# Lower bounds, so that a broken parser cannot make this file silently test nothing.
MIN_PYTHON_BLOCKS = 20
MIN_EXECUTED_BLOCKS = 18


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page.

    Attributes:
        page: path relative to the repository root, e.g. ``docs/export.md``.
        line: 1-based line number of the opening fence.
        language: first word of the info string, lower-cased ('' when none).
        code: the block's content with the fence's indentation removed.
        skipped: whether the line right before the fence is the skip marker.
    """

    page: str
    line: int
    language: str
    code: str
    skipped: bool


def markdown_pages() -> list[Path]:
    """The pages whose python blocks are tested: docs/**/*.md and README.md."""
    return sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def extract_blocks(path: Path) -> list[Block]:
    """Fenced code blocks of one Markdown file under the repository root, in order."""
    return parse_blocks(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


def parse_blocks(text: str, page: str) -> list[Block]:
    """Fenced code blocks of Markdown text, in order.

    Args:
        text: the Markdown source.
        page: the name recorded in each block.

    Returns:
        Its blocks; a fence left open runs to the end of the text (as in Markdown).
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        words = match["info"].strip().split()
        language = words[0].lower().lstrip("{.") if words else ""
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if (closing is not None and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence)
                    and not closing["info"].strip()):
                break
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        skipped = start > 0 and lines[start - 1].strip() == SKIP_MARKER
        blocks.append(Block(page, start + 1, language, "\n".join(body) + "\n", skipped))
        i += 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [block for block in extract_blocks(path) if block.language in PYTHON_LANGUAGES]


def compile_block(block: Block):
    """Compiles a block so that tracebacks name the page and its real line numbers."""
    return compile("\n" * block.line + block.code, str(ROOT / block.page), "exec")


ALL_PAGES = markdown_pages()
EXECUTED_PAGES = [p for p in ALL_PAGES if any(not b.skipped for b in python_blocks(p))]
PYTHON_PAGES = [p for p in ALL_PAGES if python_blocks(p)]


def _demo_run_folder() -> None:
    """What the quickstart's examples read: the demo's run folder, here with an untrained tiny model."""
    from gan3dlib.presets import tiny_cpu

    tiny_cpu().build().save_pretrained("runs/synthetic/model")


# Files a page's examples expect from an earlier step the reader took (created in the test's folder).
PAGE_SETUP = {"docs/quickstart.md": _demo_run_folder}


def _page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def pytorch3d_importable() -> bool:
    """PyTorch3D is a dependency only where its wheel exists (CPython 3.11, x86-64 Linux)."""
    try:
        import pytorch3d.renderer  # noqa: F401
        import pytorch3d.structures  # noqa: F401
    except Exception:  # ImportError, or OSError from a compiled extension that does not load
        return False
    return True


@pytest.mark.parametrize("path", EXECUTED_PAGES, ids=_page_id)
def test_page_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the page's python blocks in order, in one namespace, inside a temporary folder.

    Blocks that import PyTorch3D are left out where it is not installed (the page's later blocks
    must not depend on them); the test then reports a skip naming them.
    """
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    if _page_id(path) in PAGE_SETUP:
        PAGE_SETUP[_page_id(path)]()
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    without_pytorch3d: list[int] = []
    for block in python_blocks(path):
        if block.skipped:
            continue
        if IMPORTS_PYTORCH3D.search(block.code) and not pytorch3d_importable():
            without_pytorch3d.append(block.line)
            continue
        try:
            exec(compile_block(block), namespace)
        except Exception as err:
            err.add_note(f"in the ```python block of {block.page} that starts at line {block.line}")
            raise
    if without_pytorch3d:
        pytest.skip(f"{_page_id(path)}: PyTorch3D is not installed; the blocks at lines {without_pytorch3d} "
                    "did not run (the others passed)")


@pytest.mark.parametrize("path", PYTHON_PAGES, ids=_page_id)
def test_page_examples_compile(path: Path) -> None:
    """Every python block compiles, the skipped ones included."""
    for block in python_blocks(path):
        try:
            compile_block(block)
        except SyntaxError as err:
            pytest.fail(f"{block.page}: the ```python block at line {block.line} does not compile: {err}")


def test_examples_are_found() -> None:
    """The search finds the site's examples, and every skip marker sits right before a python fence."""
    blocks = [block for path in ALL_PAGES for block in python_blocks(path)]
    executed = [block for block in blocks if not block.skipped]
    assert len(blocks) >= MIN_PYTHON_BLOCKS, f"found only {len(blocks)} ```python blocks"
    assert len(executed) >= MIN_EXECUTED_BLOCKS, f"only {len(executed)} ```python blocks are executed"
    for path in ALL_PAGES:
        all_blocks = extract_blocks(path)
        starts = {block.line for block in all_blocks if block.language in PYTHON_LANGUAGES}
        inside = {line for block in all_blocks for line in range(block.line, block.line + block.code.count("\n") + 2)}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() == SKIP_MARKER and number not in inside:
                assert number + 1 in starts, f"{_page_id(path)}:{number}: a skip marker must be right before a ```python fence"


def test_parse_blocks() -> None:
    """The parser handles indented fences, tildes, longer fences, info strings and the skip marker."""
    text = "\n".join([
        "# Page",
        "```python",
        "a = 1",
        "```",
        "- item",
        "",
        "    ```python",
        "    b = a + 1",
        "    ```",
        SKIP_MARKER,
        "````python",
        "```",
        "c = 3",
        "````",
        "~~~bash",
        "echo hi",
        "~~~",
        "``` python title=\"x.py\"",
        "d = 4",
        "```",
    ])
    blocks = parse_blocks(text, "page.md")
    assert [(b.line, b.language, b.skipped) for b in blocks] == [
        (2, "python", False), (7, "python", False), (11, "python", True), (15, "bash", False), (18, "python", False),
    ]
    assert blocks[1].code == "b = a + 1\n"
    assert blocks[2].code == "```\nc = 3\n"
