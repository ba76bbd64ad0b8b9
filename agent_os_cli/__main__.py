"""`python -m agent_os_cli`: the `agent-os` command without the console script."""

from agent_os_cli import main

if __name__ == "__main__":
    main()
