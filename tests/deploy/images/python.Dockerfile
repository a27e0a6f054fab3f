# Debian's Python 3.11 with its venv module: stands in for python:3.11-slim
ARG BASE
FROM ${BASE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
