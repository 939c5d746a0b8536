"""Print one of README.md's set-up commands: `demo` or `test`.

README.md marks them with `<!-- command:NAME -->` on the line before a fenced block;
.ci/run executes the `test` one verbatim, so the README can never drift from CI.
"""

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def command(name: str, text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    m = re.search(rf"<!-- command:{re.escape(name)} -->\s*```(?:bash|sh)?\n(.+?)\n```", text, re.S)
    if not m:
        raise SystemExit(f"README.md has no `<!-- command:{name} -->` block")
    return m.group(1).strip()


if __name__ == "__main__":
    print(command(sys.argv[1] if len(sys.argv) > 1 else "test"))
