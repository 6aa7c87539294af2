# releasebot: `releasebot serve` by default; the same image runs `releasebot worker` and `releasebot db upgrade`.
# Not built by CI (no Docker there): it mirrors the README's install steps; tests/test_deploy_files.py checks
# that its commands are real ones.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY bot bot
COPY cli cli
COPY migrations migrations
RUN pip install . \
 && useradd --system --uid 10001 --user-group --home-dir /data --create-home releasebot

# The embedded default keeps its SQLite file in the working directory: mount /data to keep it.
USER releasebot
WORKDIR /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"]
CMD ["releasebot", "serve", "--port", "3000"]
