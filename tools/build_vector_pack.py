"""Rebuild the shipped standards' vector pack (run after editing anything under standards/)."""

from agent_os.standards.pack import build_pack

if __name__ == "__main__":
    path = build_pack()
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
