"""Rebuild the shipped standards' vector pack (run after editing anything under standards/).

Built with the default backend (onnx); `--backend torch` builds the reference's pack.
"""

import argparse

from agent_os.standards.embedder import BACKENDS, DEFAULT_BACKEND
from agent_os.standards.pack import build_pack

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND)
    path = build_pack(parser.parse_args().backend)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
