"""`python -m harness` and the `harness` script. The CLI is imported inside the guard: loading it
takes seconds on a first run (matplotlib builds its font cache), and Ctrl-C then is exit 130 and one
line too, as in every command (httpie's model, docs/errors.md)."""

import sys


def main() -> None:
    try:
        from .cli import entry_point
    except KeyboardInterrupt:
        sys.stderr.write("harness: interrupted\n")
        sys.exit(130)
    entry_point()


if __name__ == "__main__":
    main()
