"""`python -m agent_os.cli`: the `agent-os` command without the console script."""

from agent_os.cli import main

if __name__ == "__main__":
    main()
