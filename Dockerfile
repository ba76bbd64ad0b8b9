# The team server: webhooks, MCP over streamable HTTP at /mcp, session pages, metrics.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    AGENT_OS_DB=/data/agent_os.db \
    HF_HUB_OFFLINE=1

WORKDIR /app
# The README's install: CPU torch first, so the project's torch requirement does not pull a CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY agent_os ./agent_os
COPY agent_os_cli ./agent_os_cli
COPY bot ./bot
COPY mcp_server ./mcp_server
COPY standin ./standin
COPY workflows ./workflows
COPY standards ./standards
COPY app.yml ./
RUN pip install --no-cache-dir . && agent-os index --project /app \
    && useradd --create-home agentos && mkdir -p /data && chown -R agentos /data /app/.agent-os

VOLUME /data
EXPOSE 8000
USER agentos
HEALTHCHECK CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["agent-os", "serve", "--host", "0.0.0.0", "--port", "8000", "--project", "/app"]
