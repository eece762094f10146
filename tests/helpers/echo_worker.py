"""Echo worker for the pipe round-trip microbenchmark (benches/python_pipe.rs).

Reads lines on stdin and writes each back at once: the smallest Python
worker, so a round trip measures the pipe plus the interpreter's line I/O
and nothing of mlx-lm.
"""

import sys


def main() -> None:
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = reader.readline()
        if not line:
            return
        writer.write(line)
        writer.flush()


if __name__ == "__main__":
    main()
